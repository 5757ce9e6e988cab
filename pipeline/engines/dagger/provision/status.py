"""What is there of the Dagger engine, and whether CLI, engine and SDK versions match.

Read-only: ``engine dagger --status`` and ``doctor`` print it. Each line is
(what, ok|warn|fail, detail); ``warn`` is something missing that a run does not need
(a run can use ``--engine docker`` or another Dagger engine), ``fail`` is a mismatch.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from typing import Literal

from pipeline.engines.dagger.connection import ProbeFailed, candidates, probe, slipway_engine
from pipeline.engines.dagger.provision.daemons import answers
from pipeline.engines.dagger.provision.image import image_label
from pipeline.engines.dagger.provision.layout import CONTAINER, MIRROR_PORT, Layout, cache_root
from pipeline.engines.dagger.provision.pins import KNOWN, sdk_version

Level = Literal["ok", "warn", "fail"]
Line = tuple[str, Level, str]

START = "python -m pipeline engine dagger --start"


def cli_version(cli: str) -> str | None:
    try:
        proc = subprocess.run([cli, "version"], capture_output=True, text=True, timeout=20, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    words = proc.stdout.split()
    return words[1] if proc.returncode == 0 and len(words) > 1 else None


def status() -> list[Line]:
    sdk = sdk_version()
    want = f"v{sdk}"
    lines: list[Line] = [("dagger sdk", "ok", f"dagger-io {sdk} (engine and CLI must be {want})")]
    if sdk not in KNOWN:
        lines.append(("dagger build", "warn", f"Slipway has no build recipe for {want}"))
        return lines
    layout = Layout(root=cache_root(), version=want)
    cli = cli_version(str(layout.cli)) if layout.cli.is_file() else None
    if cli is None:
        lines.append(("dagger cli", "warn", f"not built ({layout.cli}): {START}"))
    else:
        level: Level = "ok" if cli == want else "fail"
        lines.append(("dagger cli", level, f"{cli} at {layout.cli}"))
    image_version = image_label(layout.image, "org.opencontainers.image.version")
    lines.append(
        ("dagger image", "ok", f"{layout.image}")
        if image_version
        else ("dagger image", "warn", f"{layout.image} not built: {START}")
    )
    mirror = answers("127.0.0.1", MIRROR_PORT)
    where = f"registry on 127.0.0.1:{MIRROR_PORT}"
    lines.append(
        ("dagger mirror", "ok", f"{where} answers")
        if mirror
        else ("dagger mirror", "warn", f"{where} is down: {START}")
    )
    lines.extend(engine_lines(want))
    return lines


def engine_lines(want: str) -> list[Line]:
    """The engine a run would use here (the first candidate that answers), and its version."""
    found = candidates(os.environ, which=shutil.which, find_slipway=slipway_engine)
    if not found:
        return [("dagger engine", "warn", f"none here (no session, no {CONTAINER} running): {START}")]
    problems = []
    for target in found:
        try:
            answer = probe(target, os.environ)
        except ProbeFailed as exc:
            problems.append(str(exc))
            continue
        level: Level = "ok" if answer.version == want else "fail"
        match = "matches" if level == "ok" else f"does NOT match dagger-io's {want}"
        return [("dagger engine", level, f"{answer.version} ({match}) at {target.description}")]
    return [("dagger engine", "warn", "; ".join(problems))]
