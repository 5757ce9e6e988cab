"""What an engine build of one Dagger version needs: the versions it pins, and what the
module proxy refuses and how each refusal is worked around.

The engine and CLI must be the version of the pinned Python SDK (dagger-io): they check
each other's versions, and Slipway refuses a session whose engine differs from its SDK.
Each Dagger version needs its own entry here, checked against the module proxy (the
facts behind v0.21.8 are in docs/dagger-engine.md).
"""

from __future__ import annotations

import importlib.metadata
from dataclasses import dataclass

from pipeline.model.errors import EngineUnavailable


@dataclass(frozen=True, slots=True, kw_only=True)
class Pins:
    """One Dagger version's build: its dependencies' versions and the workarounds."""

    dagger: str  # github.com/dagger/dagger and dagger.io/dagger tag, e.g. "v0.21.8"
    runc: str  # upstream's RuncVersion (toolchains/engine-dev/consts)
    cni: str  # upstream's CniVersion: github.com/containernetworking/plugins
    # Modules pinned by dagger's go.mod at versions the proxy refuses, required at a
    # served version instead (a `require` in the build module, so that MVS reads their
    # own go.mod: a version `replace` would compile against stale dependencies).
    requires: tuple[tuple[str, str], ...] = ()
    # Modules the proxy refuses at every version: compile-only stubs (gosrc/stubs/...).
    stubs: tuple[tuple[str, str], ...] = ()
    # Packages of dagger's own tree replaced by a stub file (path in the module, stub).
    patches: tuple[tuple[str, str], ...] = ()


# One entry per Dagger version Slipway can build; the key is dagger-io's version.
KNOWN: dict[str, Pins] = {
    "0.21.8": Pins(
        dagger="v0.21.8",
        runc="v1.4.2",
        cni="v1.9.0",
        # dagger pins v0.2.5-0.20260312180916-3c2add750bea, which the proxy refuses.
        requires=(("github.com/vito/midterm", "v0.2.5"),),
        # Every version refused; only dagger's interactive TTY frontend uses them.
        stubs=(
            ("github.com/vito/tuist", "stubs/tuist"),
            ("github.com/vito/tuist/teav1", "stubs/tuist/teav1"),
        ),
        # github.com/vito/dang/v2 is refused at every version: Dang v2 modules cannot be
        # loaded by this engine (Slipway is a client and uses no module SDK).
        patches=(("core/sdk/dang/v2", "dangv2_stub.go"),),
    ),
}

# Binaries in the engine image, as upstream's builder names them.
ENGINE_BINARIES = ("dagger-engine", "dagger", "dial-stdio", "dnsname", "dagger-init")
CNI_PLUGINS = ("main/bridge", "main/loopback", "meta/firewall", "ipam/host-local")
BINARIES = (*ENGINE_BINARIES, *(p.rsplit("/", 1)[1] for p in CNI_PLUGINS), "runc")


def sdk_version() -> str:
    """The installed dagger-io's version (the engine must be the same)."""
    return importlib.metadata.version("dagger-io")


def pins_for(sdk: str | None = None) -> Pins:
    """The build of the engine that matches dagger-io ``sdk`` (default: the installed one)."""
    version = sdk or sdk_version()
    if version not in KNOWN:
        raise EngineUnavailable(
            f"Slipway knows how to build the Dagger engine {', '.join('v' + v for v in KNOWN)} "
            f"from Go modules, not v{version} (the installed dagger-io): pin dagger-io to a "
            "version it knows, or run an engine of your own (_EXPERIMENTAL_DAGGER_RUNNER_HOST)"
        )
    return KNOWN[version]
