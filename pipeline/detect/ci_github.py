"""GitHub Actions workflows as jobs: steps' run lines, setup-python versions (matrix
expanded), job containers and service containers."""

from __future__ import annotations

import re
from typing import Any

from pipeline.detect.ci_blocks import dig, env_block, scalar, script_commands, workdir
from pipeline.detect.ci_model import CiJob, CiService, Command
from pipeline.detect.findings import Source
from pipeline.detect.yamlmarks import YamlDoc

_MATRIX_REF = re.compile(r"^\$\{\{\s*matrix\.([A-Za-z0-9_-]+)\s*\}\}$")


def github_jobs(rel: str, doc: YamlDoc) -> list[CiJob]:
    data = doc.data
    jobs = data.get("jobs")
    if not isinstance(jobs, dict):
        return []
    top_env = env_block(data.get("env"))
    top_cwd = workdir(".", dig(data, "defaults", "run", "working-directory"))
    out = []
    for name, job in jobs.items():
        if not isinstance(job, dict):
            continue
        job_env = {**top_env, **env_block(job.get("env"))}
        # Each level replaces the one above; all are relative to the checkout.
        job_dir = dig(job, "defaults", "run", "working-directory")
        cwd = workdir(".", job_dir) if job_dir else top_cwd
        matrix = dig(job, "strategy", "matrix")
        commands: list[Command] = []
        pythons: list[tuple[str, Source]] = []
        steps = job.get("steps")
        for index, step in enumerate(steps if isinstance(steps, list) else []):
            if not isinstance(step, dict):
                continue
            step_env = {**job_env, **env_block(step.get("env"))}
            if "run" in step:
                step_cwd = workdir(".", step.get("working-directory")) if "working-directory" in step else cwd
                commands.extend(
                    script_commands(
                        doc, rel, ("jobs", name, "steps", index, "run"), step["run"], name, step_cwd, step_env
                    )
                )
            uses = str(step.get("uses", ""))
            if uses.startswith(("actions/setup-python", "astral-sh/setup-uv")):
                version = dig(step, "with", "python-version")
                where = Source(rel, doc.line("jobs", name, "steps", index, "with", "python-version"))
                pythons.extend((v, where) for v in _matrix_values(version, matrix))
        images: list[tuple[str, Source]] = []
        container = job.get("container")
        image = container.get("image") if isinstance(container, dict) else container
        if isinstance(image, str) and image:
            images.append((image, Source(rel, doc.line("jobs", name, "container"))))
        services = []
        block = job.get("services")
        if isinstance(block, dict):
            for sname, spec in block.items():
                if isinstance(spec, dict) and isinstance(spec.get("image"), str):
                    ports = spec.get("ports")
                    services.append(
                        CiService(
                            str(sname),
                            spec["image"],
                            env_block(spec.get("env")),
                            tuple(scalar(p) for p in ports) if isinstance(ports, list) else (),
                            Source(rel, doc.line("jobs", name, "services", sname)),
                        )
                    )
        out.append(
            CiJob(
                "github",
                str(name),
                Source(rel, doc.line("jobs", name)),
                tuple(commands),
                job_env,
                tuple(images),
                tuple(pythons),
                tuple(services),
            )
        )
    return out


def _matrix_values(value: Any, matrix: Any) -> list[str]:
    if isinstance(value, list):
        return [scalar(v) for v in value if scalar(v)]
    if not isinstance(value, str) or not value:
        return []
    m = _MATRIX_REF.match(value.strip())
    if m is None:
        return [value]
    if isinstance(matrix, dict):
        values = matrix.get(m.group(1))
        if isinstance(values, list):
            return [scalar(v) for v in values if scalar(v)]
    return []
