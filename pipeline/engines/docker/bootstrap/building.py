"""One base's ``docker build``: its context, the streamed log, the version read back, the stamp."""

from __future__ import annotations

import io
import tarfile
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import TextIO

import docker

from pipeline.engines.docker.bootstrap.recipes import (
    LABEL_PACKAGE,
    LABEL_RECIPE,
    LABEL_VERSION,
    Recipe,
    stamp_dockerfile,
)
from pipeline.engines.docker.errors import docker_errors
from pipeline.model.errors import ImageBuildFailed

Echo = Callable[[str], None]


def build_base(
    client: docker.DockerClient,
    recipe: Recipe,
    *,
    ca_bundle: Path | None,
    labels: Mapping[str, str],
    log_dir: Path,
    echo: Echo,
    nocache: bool = False,
) -> str:
    """Build ``recipe`` and tag it; returns the exact upstream version it got. ``nocache``:
    no layer of an earlier build is reused (--rebuild: the suite's newest packages)."""
    base = recipe.base
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"{base.family}-{base.version}.log"
    ca_text = ca_bundle.read_bytes() if ca_bundle and ca_bundle.is_file() else b""
    files = {**recipe.context_files(), "host-ca.crt": (ca_text, 0o644)}
    with log_path.open("w", encoding="utf-8") as log:
        built = _build(
            client,
            context_tar(files),
            what=base.tag,
            buildargs=dict(recipe.args),
            labels={},
            tag=None,
            log=log,
            echo=echo,
            nocache=nocache,
        )
        version, package_version = probe_versions(client, built, recipe)
        log.write(f"versions: {recipe.version_env}={version} {recipe.package}={package_version}\n")
        stamp = stamp_dockerfile(built, recipe, version, package_version)
        _build(
            client,
            context_tar({"Dockerfile": (stamp.encode(), 0o644)}),
            what=f"{base.tag} (stamp)",
            buildargs={},
            labels={
                **labels,
                LABEL_RECIPE: recipe.digest(),
                LABEL_VERSION: version,
                LABEL_PACKAGE: f"{recipe.package}={package_version}",
            },
            tag=base.tag,
            log=log,
            echo=lambda _line: None,
        )
    return version


def probe_versions(client: docker.DockerClient, image: str, recipe: Recipe) -> tuple[str, str]:
    """(upstream version, Debian package version), read inside the built image."""
    command = recipe.probe_command()
    with docker_errors(f"read the version in {recipe.base.tag}"):
        raw = client.containers.run(image, command[2:], entrypoint=command[:2], remove=True)
    lines = (raw.decode() if isinstance(raw, bytes) else str(raw)).split()
    if len(lines) != 2:
        raise ImageBuildFailed(f"{recipe.base.tag}: could not read its version (got {lines!r})")
    return lines[0], lines[1]


def _build(
    client: docker.DockerClient,
    context: io.BytesIO,
    *,
    what: str,
    buildargs: dict[str, str],
    labels: dict[str, str],
    tag: str | None,
    log: TextIO,
    echo: Echo,
    nocache: bool = False,
) -> str:
    """Run one build; its id. Every line goes to ``log``, the steps to ``echo``."""
    image_id = ""
    tail: list[str] = []
    with docker_errors(f"build {what}"):
        stream = client.api.build(
            fileobj=context,
            custom_context=True,
            tag=tag,
            buildargs=buildargs,
            labels=labels,
            pull=False,
            rm=True,
            forcerm=True,
            nocache=nocache,
            decode=True,
        )
        for kind, text in _build_items(stream):
            if kind == "id":
                image_id = text
                continue
            log.write(text + "\n")
            tail = [*tail[-30:], text]
            if kind == "error":
                raise ImageBuildFailed(
                    f"building {what} failed (full log: {log.name}):\n" + "\n".join(tail)
                )
            if text.startswith("Step "):
                short = text if len(text) <= 100 else text[:97] + "..."
                echo(f"  {what}: {short}")
    if not image_id:
        raise ImageBuildFailed(f"building {what} gave no image id (full log: {log.name})")
    return image_id


def _build_items(stream: Iterator[dict[str, object]]) -> Iterator[tuple[str, str]]:
    """("line", text), ("error", message) or ("id", image id) from a decoded build stream."""
    for item in stream:
        if "error" in item:
            yield "error", f"ERROR: {str(item['error']).strip()}"
            return
        aux = item.get("aux")
        if isinstance(aux, dict) and isinstance(aux.get("ID"), str):
            yield "id", str(aux["ID"])
        text = item.get("stream")
        if isinstance(text, str):
            for line in text.splitlines():
                if line.strip():
                    yield "line", line


def context_tar(files: Mapping[str, tuple[bytes, int]]) -> io.BytesIO:
    """A build context in memory: name -> (content, mode)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, (data, mode) in files.items():
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), mode  # mtime 0: the same files, the same context
            tar.addfile(info, io.BytesIO(data))
    buf.seek(0)
    return buf
