"""``python -m pipeline doctor``: what Slipway would run on here, and what is missing.

The Dagger lines (unless ``--engine docker``) show the SDK, the CLI and the engine a
run would use, with their versions and whether they match.

Each check is ok / warn / fail with one line that says what was found and, when
not ok, what to do. The CPU check runs a tiny container and reads the quota it
really gets (cgroup v2 ``cpu.max`` or v1 ``cpu.cfs_quota_us``) next to ``nproc``:
pytest-xdist's ``-n auto`` counts CPUs, not the quota, and oversubscribes a
throttled container.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import docker
import typer
from rich.console import Console

from pipeline.commands.options import ConfigOpt, EngineChoice, EngineOpt, optional_config, out
from pipeline.engines.dagger.provision.status import status as dagger_status
from pipeline.engines.docker.bootstrap import status as base_status
from pipeline.engines.docker.errors import connect, docker_errors
from pipeline.engines.docker.images import missing_images
from pipeline.engines.select import choose_engine
from pipeline.model.aliases import DEFAULT_ALIASES
from pipeline.model.bases import BASES
from pipeline.model.errors import EXIT_FAILED, EXIT_OK, SlipwayError

Status = Literal["ok", "warn", "fail"]

# Prints "<quota> <period>" (v1) or "<quota|max> <period>" (v2), then nproc.
_CPU_PROBE = (
    "if [ -r /sys/fs/cgroup/cpu.max ]; then cat /sys/fs/cgroup/cpu.max; "
    "else echo $(cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us /sys/fs/cgroup/cpu/cpu.cfs_period_us); "
    "fi; nproc"
)


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    status: Status
    detail: str


def parse_cpu_probe(output: str) -> tuple[float | None, int]:
    """(CPUs the quota allows or None when unlimited, nproc) from ``_CPU_PROBE``'s output."""
    lines = [ln.split() for ln in output.strip().splitlines() if ln.strip()]
    quota, period = lines[0][0], lines[0][1]
    nproc = int(lines[1][0])
    if quota in ("max", "-1"):
        return None, nproc
    return int(quota) / int(period), nproc


def cpu_check(client: docker.DockerClient, image: str, cpus: float | None = None) -> Check:
    """Run ``image`` (with ``--cpus cpus`` if given) and report the quota it gets."""
    with docker_errors(f"run a probe container from {image}"):
        raw = client.containers.run(
            image,
            ["sh", "-c", _CPU_PROBE],
            remove=True,
            nano_cpus=int(cpus * 1e9) if cpus else None,
        )
    quota, nproc = parse_cpu_probe(raw.decode() if isinstance(raw, bytes) else str(raw))
    if quota is None:
        return Check("cpu quota", "ok", f"no CPU quota; nproc {nproc}")
    detail = f"quota {quota:g} CPUs; nproc {nproc}"
    if quota < nproc:
        return Check(
            "cpu quota",
            "warn",
            f"{detail}: xdist `-n auto` would start {nproc} workers on {quota:g} CPUs; "
            f"use -n {max(1, int(quota))}",
        )
    return Check("cpu quota", "ok", detail)


def collect_checks(
    *,
    requested: str = "auto",
    aliases: Mapping[str, str] = DEFAULT_ALIASES,
    ca_bundle: Path | None = None,
    cpus: float | None = None,
) -> list[Check]:
    """All checks, in the order a run meets them; never raises for an expected problem."""
    checks: list[Check] = []
    try:
        choice = choose_engine(requested)
        checks.append(Check("engine", "ok", f"{choice.name}: {choice.reason}"))
    except SlipwayError as exc:
        checks.append(Check("engine", "fail", str(exc)))
    if requested != "docker":
        # CLI, engine and SDK versions, and whether they match (a mismatch is a fail).
        checks.extend(Check(name, level, detail) for name, level, detail in dagger_status())
    try:
        client = connect(timeout=10)
    except SlipwayError as exc:
        checks.append(Check("docker daemon", "fail", str(exc)))
        checks.append(_ca_check(ca_bundle))
        return checks
    try:
        version = client.version()
        host = os.environ.get("DOCKER_HOST", "local socket")
        checks.append(
            Check(
                "docker daemon",
                "ok",
                f"Docker {version.get('Version')} at {host}, API {version.get('ApiVersion')}",
            )
        )
        checks.extend(image_checks(client, aliases))
        checks.append(_ca_check(ca_bundle))
        probe = _probe_image(client, aliases)
        if probe is None:
            checks.append(Check("cpu quota", "warn", "no local image to run a probe container"))
        else:
            try:
                checks.append(cpu_check(client, probe, cpus))
            except SlipwayError as exc:
                checks.append(Check("cpu quota", "fail", str(exc)))
    finally:
        client.close()
    return checks


def run_doctor(
    *,
    requested: str = "auto",
    aliases: Mapping[str, str] = DEFAULT_ALIASES,
    ca_bundle: Path | None = None,
    cpus: float | None = None,
    console: Console | None = None,
) -> int:
    """Print the checks; exit code 1 if any failed, else 0."""
    console = console or Console()
    checks = collect_checks(requested=requested, aliases=aliases, ca_bundle=ca_bundle, cpus=cpus)
    style = {"ok": "green", "warn": "yellow", "fail": "red"}
    for check in checks:
        console.print(
            f"[{style[check.status]}]{check.status:>4}[/] {check.name}: {check.detail}",
            highlight=False,
            soft_wrap=True,
        )
    return EXIT_FAILED if any(c.status == "fail" for c in checks) else EXIT_OK


def image_checks(client: docker.DockerClient, aliases: Mapping[str, str]) -> list[Check]:
    """The aliases' targets (a missing one means the public image is pulled instead),
    and which bases ``images bootstrap`` has built here."""
    checks = []
    missing = missing_images(client.api, aliases.values())
    if missing:
        names = ", ".join(f"{t} (for {k})" for k, t in sorted(aliases.items()) if t in missing)
        checks.append(
            Check(
                "base images",
                "warn",
                f"missing {names}: the public images are pulled instead where a registry answers; "
                f"else run `python -m pipeline images bootstrap {' '.join(missing)}`",
            )
        )
    else:
        names = ", ".join(f"{k} -> {v}" for k, v in sorted(aliases.items()))
        checks.append(Check("base images", "ok", f"present: {names}"))
    found = base_status(client)
    built = [f"{s.base.tag} ({s.version})" for s in found if s.built]
    outdated = [s.base.tag for s in found if s.state == "outdated"]
    detail = f"built: {', '.join(built) or 'none'}"
    if outdated:
        detail += f"; from an older recipe (rebuilt by `images bootstrap`): {', '.join(outdated)}"
    detail += "; `python -m pipeline images list` shows every base"
    checks.append(Check("bases", "warn" if outdated else "ok", detail))
    return checks


def _ca_check(ca_bundle: Path | None) -> Check:
    if ca_bundle is None:
        return Check(
            "ca bundle",
            "ok",
            "none configured (set ca_bundle in pipeline.yaml when a proxy re-signs TLS)",
        )
    if not ca_bundle.is_file():
        return Check("ca bundle", "fail", f"{ca_bundle} does not exist")
    count = ca_bundle.read_text(errors="replace").count("BEGIN CERTIFICATE")
    return Check("ca bundle", "ok", f"{ca_bundle} ({count} certificates), copied into containers")


def _probe_image(client: docker.DockerClient, aliases: Mapping[str, str]) -> str | None:
    present = {t for img in client.images.list() for t in img.tags}
    bases = [b.tag for b in BASES] + [f"slipway/debian:{b.suite}" for b in BASES]
    for candidate in dict.fromkeys([*aliases.values(), *bases]):
        if candidate in present:
            return candidate
    return None


def doctor(
    config: ConfigOpt = Path("pipeline.yaml"),
    engine: EngineOpt = EngineChoice.auto,
) -> None:
    """Check the engine, the daemon, the base images, the CA bundle and the CPU a container gets."""
    cfg = optional_config(config)
    aliases = dict(cfg.model.images.aliases) if cfg else dict(DEFAULT_ALIASES)
    raise typer.Exit(
        run_doctor(
            requested=engine.value,
            aliases=aliases,
            ca_bundle=cfg.ca_bundle() if cfg else None,
            console=out,
        )
    )
