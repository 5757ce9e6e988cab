"""GitLab CI and Woodpecker pipelines as jobs: script lines, images, services."""

from __future__ import annotations

from typing import Any

from pipeline.detect.ci_blocks import env_block, scalar, script_commands, workdir
from pipeline.detect.ci_model import CiJob, CiService, Command
from pipeline.detect.findings import Source
from pipeline.detect.yamlmarks import Key, YamlDoc

_GITLAB_RESERVED = frozenset(
    {
        "image",
        "services",
        "stages",
        "types",
        "before_script",
        "after_script",
        "variables",
        "cache",
        "include",
        "default",
        "workflow",
        "pages",
    }
)


def gitlab_jobs(rel: str, doc: YamlDoc) -> list[CiJob]:
    data = doc.data
    default = data.get("default") if isinstance(data.get("default"), dict) else {}
    top_vars = env_block(data.get("variables"))
    top_image = data.get("image", default.get("image"))
    top_services = data.get("services", default.get("services"))
    top_before = data.get("before_script", default.get("before_script"))
    out = []
    for name, job in data.items():
        if name in _GITLAB_RESERVED or name.startswith(".") or not isinstance(job, dict):
            continue
        if "script" not in job and "trigger" not in job:
            continue
        env = {**top_vars, **env_block(job.get("variables"))}
        commands: list[Command] = []
        before_path: tuple[Key, ...] = (
            (name, "before_script") if "before_script" in job else ("before_script",)
        )
        before = job.get("before_script", top_before)
        commands.extend(script_commands(doc, rel, before_path, before, name, ".", env))
        commands.extend(script_commands(doc, rel, (name, "script"), job.get("script"), name, ".", env))
        image = job.get("image", top_image)
        image_name = image.get("name") if isinstance(image, dict) else image
        images = []
        if isinstance(image_name, str) and image_name:
            images.append((image_name, Source(rel, doc.line(name, "image") or doc.line("image"))))
        services = []
        raw_services = job.get("services", top_services)
        svc_path: tuple[Key, ...] = (name, "services") if "services" in job else ("services",)
        for index, item in enumerate(raw_services if isinstance(raw_services, list) else []):
            spec = {"name": item} if isinstance(item, str) else item if isinstance(item, dict) else {}
            img = spec.get("name")
            if not isinstance(img, str) or not img:
                continue
            alias = spec.get("alias")
            # GitLab names the service's host after its image (postgres:15 -> postgres).
            host = str(alias).split(",")[0].strip() if alias else img.split(":")[0].split("/")[-1]
            services.append(
                CiService(
                    host,
                    img,
                    {**env, **env_block(spec.get("variables"))},
                    (),
                    Source(rel, doc.line(*svc_path, index)),
                )
            )
        out.append(
            CiJob(
                "gitlab",
                name,
                Source(rel, doc.line(name)),
                tuple(commands),
                env,
                tuple(images),
                (),
                tuple(services),
            )
        )
    return out


# --- Woodpecker ---


def woodpecker_jobs(rel: str, doc: YamlDoc) -> list[CiJob]:
    data = doc.data
    steps = data.get("steps", data.get("pipeline"))
    key = "steps" if "steps" in data else "pipeline"
    items: list[tuple[str, tuple[Key, ...], dict[str, Any]]] = []
    if isinstance(steps, dict):
        items = [(str(n), (key, n), s) for n, s in steps.items() if isinstance(s, dict)]
    elif isinstance(steps, list):
        items = [
            (str(s.get("name", f"step-{i}")), (key, i), s) for i, s in enumerate(steps) if isinstance(s, dict)
        ]
    services: list[CiService] = []
    raw_services = data.get("services")
    service_items: list[tuple[str, tuple[Key, ...], dict[str, Any]]] = []
    if isinstance(raw_services, dict):
        service_items = [(str(n), ("services", n), s) for n, s in raw_services.items() if isinstance(s, dict)]
    elif isinstance(raw_services, list):
        service_items = [
            (str(s.get("name", f"service-{i}")), ("services", i), s)
            for i, s in enumerate(raw_services)
            if isinstance(s, dict)
        ]
    for sname, path, spec in service_items:
        image = spec.get("image")
        if isinstance(image, str) and image:
            ports = spec.get("ports")
            services.append(
                CiService(
                    sname,
                    image,
                    env_block(spec.get("environment")),
                    tuple(scalar(p) for p in ports) if isinstance(ports, list) else (),
                    Source(rel, doc.line(*path)),
                )
            )
    out = []
    for sname, path, step in items:
        env = env_block(step.get("environment"))
        cwd = workdir(".", step.get("directory"))
        commands = script_commands(doc, rel, (*path, "commands"), step.get("commands"), sname, cwd, env)
        image = step.get("image")
        images = [(image, Source(rel, doc.line(*path, "image")))] if isinstance(image, str) and image else []
        out.append(
            CiJob(
                "woodpecker",
                sname,
                Source(rel, doc.line(*path)),
                tuple(commands),
                env,
                tuple(images),
                (),
                tuple(services),
            )
        )
    return out
