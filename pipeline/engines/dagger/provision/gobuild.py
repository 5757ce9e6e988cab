"""The engine's binaries, built with Go as upstream's builder builds them, and cached.

Upstream's flags (toolchains/engine-dev/build/builder.go): no cgo, tags
``dfexcludepatterns,dfparents`` (COPY --exclude / --parents in the engine's Dockerfile
frontend), ``-s -w``, and the version stamped into the engine and the CLI only (they
check each other's). runc is built from its own module zip with cgo and Debian's
libseccomp, static, as upstream does. The binaries are stamped with the recipe digest
and the Go version: a second build with nothing changed returns at once.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from pipeline.engines.dagger.provision.gosource import (
    CNI_MODULE,
    DAGGER_MODULE,
    download,
    go_binary,
    write_build_module,
)
from pipeline.engines.dagger.provision.layout import Layout
from pipeline.engines.dagger.provision.pins import BINARIES, CNI_PLUGINS, Pins
from pipeline.engines.dagger.provision.proc import ProvisionError, Steps

TAGS = "dfexcludepatterns,dfparents"
RUNC_MODULE = "github.com/opencontainers/runc"
# What runc's cgo build needs from Debian (setup-machine installs them).
RUNC_NEEDS = {"gcc": "gcc", "pkg-config": "pkg-config"}
LIBSECCOMP_PACKAGE = "libseccomp-dev"


def go_version() -> str:
    return subprocess.run(
        [go_binary(), "env", "GOVERSION"], capture_output=True, text=True, check=True
    ).stdout.strip()


def stamp_text(recipe: str) -> str:
    return f"recipe={recipe} go={go_version()}"


def script_stamp(pins: Pins) -> str:
    """What the shell recipe this module was written from (build-engine.sh, same pins, same
    workarounds, same flags) stamps its binaries with, after its own recipe number."""
    return f"version={pins.dagger} runc={pins.runc} cni={pins.cni} {go_version()}"


def binaries_current(layout: Layout, recipe: str, pins: Pins) -> bool:
    """Our stamp, or the shell recipe's for the same pins and Go: a machine where that
    script built the engine reuses its binaries rather than spend 25 minutes again."""
    try:
        stamped = layout.stamp.read_text().strip()
    except OSError:
        return False
    same = stamped == stamp_text(recipe) or stamped.endswith(" " + script_stamp(pins))
    return same and all((layout.bin / b).is_file() for b in BINARIES)


def build_binaries(steps: Steps, layout: Layout, pins: Pins, *, force: bool = False) -> None:
    """Every binary of the engine image into ``layout.bin`` (skipped when current)."""
    recipe = write_build_module(steps, layout, pins)
    if not force and binaries_current(layout, recipe, pins):
        steps.skip(f"binaries in {layout.bin} are current ({layout.stamp.read_text().strip()})")
        return
    check_runc_needs()
    layout.stamp.unlink(missing_ok=True)
    layout.bin.mkdir(parents=True, exist_ok=True)
    env = {**layout.go_env, "GOFLAGS": "-mod=mod -buildvcs=false", "GOTOOLCHAIN": "local", "CGO_ENABLED": "0"}
    stamp_version = (
        f"-X {DAGGER_MODULE}/engine.Version={pins.dagger} -X {DAGGER_MODULE}/engine.Tag={pins.dagger}"
    )
    targets = [
        ("dagger-engine", f"{DAGGER_MODULE}/cmd/engine", stamp_version),
        ("dagger", f"{DAGGER_MODULE}/cmd/dagger", stamp_version),
        ("dial-stdio", f"{DAGGER_MODULE}/cmd/dialstdio", ""),
        ("dnsname", f"{DAGGER_MODULE}/cmd/dnsname", ""),
        ("dagger-init", f"{DAGGER_MODULE}/cmd/init", ""),
    ]
    for name, package, extra in targets:
        steps.step(f"go build {name}")
        ldflags = f"-s -w {extra}".strip()
        _go_build(steps, layout, env, name, package, ldflags, tags=TAGS)
    for plugin in CNI_PLUGINS:
        name = plugin.rsplit("/", 1)[1]
        _go_build(steps, layout, env, name, f"{CNI_MODULE}/plugins/{plugin}", "-s -w", tags="")
    steps.step(f"runc {pins.runc} (cgo, seccomp, static)")
    build_runc(steps, layout, pins)
    layout.stamp.write_text(stamp_text(recipe) + "\n")


def _go_build(
    steps: Steps, layout: Layout, env: dict[str, str], name: str, package: str, ldflags: str, *, tags: str
) -> None:
    argv = [go_binary(), "build", "-trimpath"]
    if tags:
        argv += ["-tags", tags]
    argv += ["-ldflags", ldflags, "-o", str(layout.bin / name), package]
    steps.run(argv, cwd=layout.src, env=env)


def build_runc(steps: Steps, layout: Layout, pins: Pins) -> None:
    source = download(steps, layout, RUNC_MODULE, pins.runc)
    if layout.runc_src.exists():
        shutil.rmtree(layout.runc_src)
    shutil.copytree(source, layout.runc_src)
    for path in [layout.runc_src, *layout.runc_src.rglob("*")]:
        if path.is_dir():
            path.chmod(0o755)
    env = {**layout.go_env, "GOFLAGS": "-buildvcs=false", "GOTOOLCHAIN": "local", "CGO_ENABLED": "1"}
    ldflags = f"-X main.version={pins.runc} -linkmode external -extldflags -static-pie"
    steps.run(
        [
            go_binary(),
            "build",
            "-trimpath",
            "-buildmode=pie",
            "-tags",
            "seccomp netgo osusergo",
            "-ldflags",
            ldflags,
            "-o",
            str(layout.bin / "runc"),
            ".",
        ],
        cwd=layout.runc_src,
        env=env,
    )


def check_runc_needs() -> None:
    missing = [pkg for tool, pkg in RUNC_NEEDS.items() if shutil.which(tool) is None]
    if not missing:
        probe = subprocess.run(["pkg-config", "--exists", "libseccomp"], check=False)
        if probe.returncode != 0:
            missing.append(LIBSECCOMP_PACKAGE)
    elif not any(
        Path(p).exists() for p in ("/usr/lib/x86_64-linux-gnu/libseccomp.a", "/usr/lib/libseccomp.a")
    ):
        missing.append(LIBSECCOMP_PACKAGE)
    if missing:
        raise ProvisionError(
            f"runc is built with cgo and libseccomp: install {' '.join(missing)} "
            f"(apt-get install -y {' '.join(missing)}; scripts/setup-machine does)"
        )
