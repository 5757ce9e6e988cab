"""The ``scan`` stage kind: each scanner in its own container, findings read back
from its JSON output and judged by the stage's policy.

hadolint (Dockerfiles), bandit (Python), pip-audit (Python dependencies, from
uv.lock or requirements files) run in the scanners image built from
``pipeline/stages/scan/Dockerfile``; npm audit runs in the node image against a
package-lock. A scanner's own exit code never fails the job: the policy does.
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass
from datetime import date
from pathlib import Path, PurePosixPath
from typing import Any

import anyio

from pipeline.config.model import ScanStage
from pipeline.model.outcome import JobOutcome, JobStatus
from pipeline.model.paths import COPY_EXCLUDES, EXCLUDED_DIRS
from pipeline.model.spec import ContainerSpec, DirectoryMount, FileMount, ImageRef
from pipeline.stages.base import ARTIFACTS_DIR, SOURCE_DIR, JobContext, never_cached, no_builds, no_facts
from pipeline.stages.scan import image as scanners
from pipeline.stages.scan.findings import PARSERS, Finding, Unavailable
from pipeline.stages.scan.policy import evaluate

NODE_IMAGE = "node:20-slim"
INPUTS_DIR = "/slipway/in"
# Each scanner writes its JSON and exit code; `exit 0` because findings are the
# policy's to judge, and a missing/invalid JSON file is what marks it unavailable.
_WRAP = "{cmd} > {out} 2> {out}.err; echo $? > {out}.rc; exit 0"


@dataclass(frozen=True, slots=True, kw_only=True)
class ScanRun:
    scanner: str
    spec: ContainerSpec
    outputs: tuple[str, ...]  # JSON files the scanner writes


def _stage(ctx: JobContext) -> ScanStage:
    assert isinstance(ctx.stage, ScanStage)
    return ctx.stage


def _sh(cmd: str, out: str, args: list[str]) -> tuple[str, ...]:
    # Paths come from config: passed as "$@", never pasted into the shell string.
    return ("sh", "-c", _WRAP.format(cmd=cmd, out=out), "sh", *args)


def _targets(root: Path, paths: tuple[str, ...]) -> tuple[list[str], list[str]]:
    """(Dockerfiles, other paths) under the project root; defaults when none are given."""
    if paths:
        dockerfiles = [p for p in paths if PurePosixPath(p).name.startswith("Dockerfile")]
        return dockerfiles, [p for p in paths if p not in dockerfiles]
    found = sorted(
        str(p.relative_to(root))
        for p in root.rglob("Dockerfile*")
        if p.is_file() and not set(EXCLUDED_DIRS).intersection(p.relative_to(root).parts)
    )
    return found, ["."]


def _dep_dirs(root: Path, paths: list[str], marker: str) -> list[str]:
    """Directories (the given ones, else the root and its children) holding ``marker``."""
    candidates = (
        paths if paths and paths != ["."] else [".", *(p.name for p in sorted(root.iterdir()) if p.is_dir())]
    )
    return [d for d in candidates if (root / d / marker).is_file()]


def _python_dep_inputs(root: Path, paths: list[str]) -> list[tuple[str, str]]:
    """(directory, lock file) for pip-audit: uv.lock preferred, else requirements.txt."""
    out = []
    for d in _dep_dirs(root, paths, "uv.lock"):
        out.append((d, "uv.lock"))
    for d in _dep_dirs(root, paths, "requirements.txt"):
        if (d, "uv.lock") not in out:
            out.append((d, "requirements.txt"))
    return out


def pinned_requirements(lock: Path) -> str:
    """uv.lock's registry packages as ``name==version`` lines (what pip-audit audits)."""
    data = tomllib.loads(lock.read_text(encoding="utf-8"))
    lines = []
    for pkg in data.get("package", []):
        source = pkg.get("source", {})
        if "registry" in source and "version" in pkg:
            lines.append(f"{pkg['name']}=={pkg['version']}")
    return "\n".join(sorted(set(lines))) + "\n"


def runs(ctx: JobContext, scanner_image: str) -> list[ScanRun]:
    stage = _stage(ctx)
    root = ctx.run.config.project_root
    dockerfiles, others = _targets(root, stage.paths)
    source = DirectoryMount(source=root, dest=SOURCE_DIR, exclude=COPY_EXCLUDES)
    out: list[ScanRun] = []
    inputs = ctx.artifacts_dir / "inputs"

    def spec(
        scanner: str, commands: list[tuple[str, ...]], image: str, files: tuple[FileMount, ...] = ()
    ) -> ContainerSpec:
        return ContainerSpec(
            name=f"{ctx.job.name}-{scanner}",
            image=ImageRef(ref=image),
            commands=(("mkdir", "-p", ARTIFACTS_DIR), *commands),
            directories=(source,),
            files=files,
            workdir=SOURCE_DIR,
            outputs=(ARTIFACTS_DIR,),
        )

    for scanner in stage.scanners:
        if scanner == "hadolint":
            if not dockerfiles:
                continue
            o = f"{ARTIFACTS_DIR}/hadolint.json"
            cmd = _sh('hadolint --no-fail -f json "$@"', o, dockerfiles)
            out.append(ScanRun(scanner=scanner, spec=spec(scanner, [cmd], scanner_image), outputs=(o,)))
        elif scanner == "bandit":
            o = f"{ARTIFACTS_DIR}/bandit.json"
            cmd = _sh(
                'bandit -q -r -f json -x "*/tests/*,*/.venv/*,*/node_modules/*" "$@"', o, others or ["."]
            )
            out.append(ScanRun(scanner=scanner, spec=spec(scanner, [cmd], scanner_image), outputs=(o,)))
        elif scanner == "pip-audit":
            cmds: list[tuple[str, ...]] = []
            files: list[FileMount] = []
            outs: list[str] = []
            for i in range(len(_python_dep_inputs(root, others))):
                req = f"{INPUTS_DIR}/requirements-{i}.txt"
                files.append(FileMount(source=inputs / f"requirements-{i}.txt", dest=req))
                o = f"{ARTIFACTS_DIR}/pip-audit-{i}.json"
                # --no-deps --disable-pip: audit the pinned set as locked, no resolver run.
                cmds.append(
                    _sh('pip-audit --progress-spinner off --no-deps --disable-pip -f json -r "$1"', o, [req])
                )
                outs.append(o)
            if cmds:
                out.append(
                    ScanRun(
                        scanner=scanner,
                        spec=spec(scanner, cmds, scanner_image, tuple(files)),
                        outputs=tuple(outs),
                    )
                )
        elif scanner == "npm-audit":
            cmds = []
            outs = []
            for i, d in enumerate(_dep_dirs(root, others, "package-lock.json")):
                o = f"{ARTIFACTS_DIR}/npm-audit-{i}.json"
                cmds.append(_sh('cd "$1" && npm audit --json --package-lock-only', o, [d]))
                outs.append(o)
            if cmds:
                out.append(
                    ScanRun(scanner=scanner, spec=spec(scanner, cmds, NODE_IMAGE), outputs=tuple(outs))
                )
    return out


def specs(ctx: JobContext) -> list[ContainerSpec]:
    return [r.spec for r in runs(ctx, scanners.image_tag())]


cache_inputs = never_cached  # advisories change without our files changing: always fresh
cache_specs = specs
cache_facts = no_facts
builds = no_builds


def _write_inputs(ctx: JobContext) -> None:
    root = ctx.run.config.project_root
    _, others = _targets(root, _stage(ctx).paths)
    inputs = ctx.artifacts_dir / "inputs"
    inputs.mkdir(parents=True, exist_ok=True)
    for i, (d, lock) in enumerate(_python_dep_inputs(root, others)):
        path = root / d / lock
        text = pinned_requirements(path) if lock == "uv.lock" else path.read_text(encoding="utf-8")
        (inputs / f"requirements-{i}.txt").write_text(text, encoding="utf-8")


async def scanner_image(ctx: JobContext) -> str:
    """Build the scanners image once per run (the layer cache makes it quick after the first)."""

    async def build() -> str:
        # The CA bundle as pipeline.yaml names it: relative to pipeline.yaml, not to the cwd.
        with scanners.build_context(ctx.run.config.ca_bundle()) as context:
            return await ctx.run.engine.build_image(context, log_path=ctx.log_path)

    return await ctx.run.state.scanner_image.get(build)


def _read(run: ScanRun, exported: Path | None, root: str) -> tuple[list[Finding], str | None]:
    findings: list[Finding] = []
    for out in run.outputs:
        host = exported / PurePosixPath(out).name if exported else None
        if host is None or not host.is_file():
            return findings, "no output (the scanner did not run)"
        try:
            findings += PARSERS[run.scanner](host.read_text(encoding="utf-8"), root)
        except Unavailable as exc:
            err = Path(f"{host}.err")
            tail = (
                err.read_text(encoding="utf-8", errors="replace").strip().splitlines()[-3:]
                if err.is_file()
                else []
            )
            return findings, f"{exc}: {' | '.join(tail)}"[:600]
    return findings, None


async def run(ctx: JobContext) -> JobOutcome:
    stage = _stage(ctx)
    _write_inputs(ctx)
    needs_python = any(s in stage.scanners for s in ("hadolint", "bandit", "pip-audit"))
    image = await scanner_image(ctx) if needs_python else scanners.image_tag()
    todo = runs(ctx, image)
    findings: list[Finding] = []
    unavailable: dict[str, str] = {}
    timings: dict[str, float] = {}

    async def one(r: ScanRun) -> None:
        out_dir = ctx.artifacts_dir / r.scanner
        log = ctx.log_path.with_name(f"{ctx.log_path.stem}-{r.scanner}.log")
        result = await ctx.run.engine.run(r.spec, log_path=log, output_dir=out_dir)
        timings[r.scanner] = round(result.duration_s, 2)
        exported = result.outputs.get(ARTIFACTS_DIR)
        got, why = _read(r, exported, SOURCE_DIR)
        findings.extend(got)
        if why is not None:
            unavailable[r.scanner] = why

    async with anyio.create_task_group() as tg:
        for r in todo:
            tg.start_soon(one, r)
    verdict = evaluate(stage.policy, findings, unavailable, date.today())
    data: dict[str, Any] = {
        "findings": [f.as_data() for f in findings],
        "scanners": {r.scanner: ("unavailable" if r.scanner in unavailable else "ok") for r in todo},
        "scan_s": timings,
        "policy": {"fail_on": stage.policy.fail_on, "unavailable": stage.policy.unavailable},
        **verdict.as_data(),
    }
    ctx.artifacts_dir.mkdir(parents=True, exist_ok=True)
    report = ctx.artifacts_dir / "findings.json"
    report.write_text(json.dumps(data, indent=2), encoding="utf-8")
    parts = [f"{len(findings)} findings, {len(verdict.blocking)} at or above {stage.policy.fail_on}"]
    if unavailable:
        parts.append(f"unavailable: {', '.join(sorted(unavailable))} ({stage.policy.unavailable})")
    if verdict.expired:
        parts.append(f"expired allowlist entries: {', '.join(e['id'] for e in verdict.expired)}")
    status = JobStatus.FAILED if verdict.failed else JobStatus.SUCCESS
    return JobOutcome(status=status, artifacts=(report,), detail="; ".join(parts), data=data)
