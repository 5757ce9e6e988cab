"""The Go build module: dagger's module from the proxy, patched, plus what the proxy refuses.

``go install github.com/dagger/dagger/cmd/dagger@v`` cannot work (dagger's go.mod has
replace directives, and two of them point at nested modules missing from the zip), so
the build is a module of our own that requires dagger and repeats its version-to-version
replaces (a dependency's replaces are ignored), with:

- ``dagger.io/dagger`` (the Go SDK, ``./sdk/go`` upstream) at the same published tag;
- ``engine/distconsts`` (no published version at all) from ``gosrc/distconsts``;
- the refused modules of ``Pins`` as requires at served versions, or stubs;
- dagger's own tree copied from the module cache with ``Pins.patches`` applied.

Every checksum is still verified by Go against sum.golang.org through the proxy.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from pipeline.engines.dagger.provision.layout import Layout
from pipeline.engines.dagger.provision.pins import Pins
from pipeline.engines.dagger.provision.proc import ModuleRefused, ProvisionError, Steps, refused_modules

GOSRC = Path(__file__).with_name("gosrc")
DAGGER_MODULE = "github.com/dagger/dagger"
DISTCONSTS = "github.com/dagger/dagger/engine/distconsts"
GO_SDK = "dagger.io/dagger"
CNI_MODULE = "github.com/containernetworking/plugins"
BUILD_MODULE = "slipway.local/daggerbuild"
GO_DIRECTIVE = "1.26.1"  # dagger v0.21's own go.mod: the oldest Go that builds it


def recipe_digest(pins: Pins) -> str:
    """Changes when the pins or any stub/patch file change: the cached binaries are stale."""
    digest = hashlib.sha256(repr(pins).encode())
    for path in sorted(GOSRC.rglob("*")):
        if path.is_file():
            digest.update(str(path.relative_to(GOSRC)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def download(steps: Steps, layout: Layout, module: str, version: str) -> Path:
    """``go mod download`` one module version; its extracted directory in the module cache."""
    with tempfile.TemporaryDirectory() as empty:  # outside any module: GOFLAGS must not apply
        out = _go_json(steps, layout, ["mod", "download", "-json", f"{module}@{version}"], Path(empty))
    if out.get("Error"):
        refused = refused_modules(str(out["Error"]))
        if refused:
            raise ModuleRefused(refused, "go mod download")
        raise ProvisionError(f"go mod download {module}@{version}: {out['Error']}")
    return Path(str(out["Dir"]))


def version_replaces(go_mod: Path, steps: Steps, layout: Layout) -> list[tuple[str, str, str]]:
    """dagger's replaces from one module version to another: (old path, new path, version)."""
    data = _go_json(steps, layout, ["mod", "edit", "-json", str(go_mod)], go_mod.parent)
    out = []
    for rep in data.get("Replace") or []:
        new = rep["New"]
        if new.get("Version"):  # a local directory (./sdk/go...) has none
            out.append((rep["Old"]["Path"], new["Path"], new["Version"]))
    return out


def go_mod_text(pins: Pins, replaces: list[tuple[str, str, str]]) -> str:
    lines = [
        f"module {BUILD_MODULE}",
        "",
        f"go {GO_DIRECTIVE}",
        "",
        "require (",
        f"\t{CNI_MODULE} {pins.cni}",
        f"\t{DAGGER_MODULE} {pins.dagger}",
        *(
            f"\t{path} {version} // the version dagger pins is refused by the proxy"
            for path, version in pins.requires
        ),
        ")",
        "",
        "replace (",
        f"\t{GO_SDK} => {GO_SDK} {pins.dagger}",
        f"\t{DISTCONSTS} => ./distconsts",
        f"\t{DAGGER_MODULE} => ./dagger",
        *(f"\t{path} => ./{where}" for path, where in pins.stubs),
        *(f"\t{old} => {new} {version}" for old, new, version in replaces if old != GO_SDK),
        ")",
        "",
    ]
    return "\n".join(lines)


def write_build_module(steps: Steps, layout: Layout, pins: Pins) -> str:
    """The build module under ``layout.src`` (rewritten only when the recipe changed);
    returns the recipe digest the binaries are stamped with."""
    digest = recipe_digest(pins)
    marker = layout.src / ".slipway-recipe"
    if marker.is_file() and marker.read_text().strip() == digest:
        steps.skip(f"build module {layout.src} is current (recipe {digest})")
        return digest
    steps.info(f"build module in {layout.src} (recipe {digest})")
    source = download(steps, layout, DAGGER_MODULE, pins.dagger)
    if layout.src.exists():
        shutil.rmtree(layout.src, onerror=_force_remove)
    layout.src.mkdir(parents=True)
    tree = layout.src / "dagger"
    shutil.copytree(source, tree, ignore=shutil.ignore_patterns("docs"))
    _make_writable(tree)
    for package, stub in pins.patches:
        target = tree / package
        for old in target.glob("*.go"):
            old.unlink()
        shutil.copyfile(GOSRC / stub, target / "stub.go")
        steps.info(f"patched {DAGGER_MODULE}/{package} -> {stub}")
    shutil.copytree(GOSRC / "distconsts", layout.src / "distconsts")
    for _, where in pins.stubs:
        dest = layout.src / where
        if not dest.exists():
            shutil.copytree(GOSRC / where, dest)
    # dagger's go.sum seeds ours; Go verifies every entry it adds or uses.
    shutil.copyfile(tree / "go.sum", layout.src / "go.sum")
    replaces = version_replaces(tree / "go.mod", steps, layout)
    (layout.src / "go.mod").write_text(go_mod_text(pins, replaces))
    marker.write_text(digest + "\n")
    return digest


def _go_json(steps: Steps, layout: Layout, args: list[str], cwd: Path) -> dict[str, Any]:
    # `go mod download -json` prints the JSON (with "Error") and exits 1: read it either way.
    steps.info("$ go " + " ".join(args))
    proc = subprocess.run(
        [go_binary(), *args],
        cwd=cwd,
        env={**os.environ, **layout.go_env, "GOFLAGS": ""},
        capture_output=True,
        text=True,
        check=False,
    )
    try:
        data = json.loads(proc.stdout)
    except json.JSONDecodeError:
        refused = refused_modules(proc.stderr)
        if refused:
            raise ModuleRefused(refused, "go " + " ".join(args[:2])) from None
        raise ProvisionError(f"go {' '.join(args)} failed: {proc.stderr.strip()[-2000:]}") from None
    return dict(data)


def go_binary() -> str:
    found = shutil.which("go") or ("/usr/local/go/bin/go" if Path("/usr/local/go/bin/go").exists() else None)
    if found is None:
        raise ProvisionError(
            f"Go is not installed: the engine is built from Go modules; install Go >= {GO_DIRECTIVE} "
            "(https://go.dev/doc/install, or your distribution's package) and put `go` on PATH"
        )
    return found


def _make_writable(tree: Path) -> None:
    # The module cache is read-only; the copy must be patchable and removable.
    for path in [tree, *tree.rglob("*")]:
        if not path.is_symlink():
            path.chmod(path.stat().st_mode | stat.S_IWUSR)


def _force_remove(func: object, path: str, _exc: object) -> None:
    p = Path(path)
    p.parent.chmod(p.parent.stat().st_mode | stat.S_IWUSR)
    if p.is_dir():
        shutil.rmtree(p)
    else:
        p.unlink()
