"""A container spec as a lazy Dagger query: pure functions over the global ``dag``.

Nothing here talks to an engine: every function only builds Dagger's lazy
query (``Container``, ``Service``...), which ``dagger.py`` evaluates. Tests and
``plan --calls`` read the same query back (``describe_chain``), so the printed
chain is what runs, not a parallel description that could drift from it.

The order of calls puts what changes least first (image, CA bundle, env,
caches, services) and the source directories last, so Dagger's cache keeps
the early layers when only the source changed.
"""

from __future__ import annotations

import inspect
import json
import math
import re
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dagger
from dagger import dag
from dagger.client.base import Enum, Input, Type

from pipeline.model.aliases import resolve_alias
from pipeline.model.ca import CA_PATH, ca_env
from pipeline.model.secrets import MASK
from pipeline.model.spec import (
    CacheMount,
    ContainerSpec,
    Image,
    ImageBuild,
    ImageRef,
    ReadinessKind,
    ServiceSpec,
    Sharing,
)

_SHARING = {
    Sharing.SHARED: dagger.CacheSharingMode.SHARED,
    Sharing.LOCKED: dagger.CacheSharingMode.LOCKED,
    Sharing.PRIVATE: dagger.CacheSharingMode.PRIVATE,
}

# The probe retries the readiness command until it succeeds or time runs out.
# It needs a POSIX shell, `date` and `sleep` in the service's image; the argv
# itself is passed as "$@", never spliced into the script.
_PROBE_SCRIPT = (
    'end=$(( $(date +%s) + {timeout} )); until "$@"; do '
    'if [ "$(date +%s)" -ge "$end" ]; then '
    'echo "service {name} not ready after {timeout}s: $*" >&2; exit 1; fi; '
    "sleep {interval}; done"
)


def host_path(path: Path) -> str:
    # Dagger resolves relative host paths against the session's workdir, which
    # under `dagger run` need not be ours: always hand it absolute paths.
    return str(path.absolute())


def image_container(
    image: Image, aliases: Mapping[str, str], built: Mapping[str, dagger.Container] | None = None
) -> dagger.Container:
    """The starting container: a reference, an image this engine built, or a Dockerfile build.

    ``built`` holds what ``DaggerEngine.build_image`` returned: Dagger images
    live in the engine, addressed by ID, not by a name ``from_`` could pull.
    """
    if isinstance(image, ImageRef):
        ref = resolve_alias(image.ref, aliases)
        if built and ref in built:
            return built[ref]
        return dag.container().from_(ref)
    return build_container(image)


def build_container(build: ImageBuild) -> dagger.Container:
    """``directory.docker_build``; tags are a Docker engine notion and are not used."""
    return (
        dag.host()
        .directory(host_path(build.context))
        .docker_build(
            dockerfile=build.dockerfile,
            target=build.target or "",
            build_args=[dagger.BuildArg(name=k, value=v) for k, v in build.args],
        )
    )


def with_cache(ctr: dagger.Container, cache: CacheMount) -> dagger.Container:
    return ctr.with_mounted_cache(cache.path, dag.cache_volume(cache.name), sharing=_SHARING[cache.sharing])


def with_ca(ctr: dagger.Container, ca_bundle: Path | None) -> dagger.Container:
    """The CA bundle copied in and named by every variable tools read (jobs and services)."""
    if ca_bundle is None:
        return ctr
    ctr = ctr.with_file(CA_PATH, dag.host().file(host_path(ca_bundle)))
    for var, value in ca_env():
        ctr = ctr.with_env_variable(var, value)
    return ctr


def service_container(
    svc: ServiceSpec,
    aliases: Mapping[str, str],
    built: Mapping[str, dagger.Container] | None = None,
    ca_bundle: Path | None = None,
) -> dagger.Container:
    """The service's container before it becomes a ``Service``; the probe starts from it."""
    ctr = with_ca(image_container(svc.image, aliases, built), ca_bundle)
    for key, value in svc.env:
        ctr = ctr.with_env_variable(key, value)
    return ctr


def service(
    svc: ServiceSpec,
    aliases: Mapping[str, str],
    built: Mapping[str, dagger.Container] | None = None,
    *,
    owner: str = "",
    ca_bundle: Path | None = None,
) -> dagger.Service:
    """A ``Service``; Dagger health-checks its exposed port before a client may use it.

    ``use_entrypoint`` keeps the image's ENTRYPOINT, as ``docker run`` does:
    images such as postgres initialise the server there and refuse to run as
    root without it.

    ``owner`` (the job's name) makes each job's service its own instance:
    Dagger runs one instance per identical service in a session, and a job
    that stops its services must not stop another job's.
    """
    ctr = service_container(svc, aliases, built, ca_bundle)
    if owner:
        ctr = ctr.with_env_variable("SLIPWAY_SERVICE_OWNER", owner)
    if svc.port is not None:
        ctr = ctr.with_exposed_port(svc.port)
    return ctr.as_service(args=list(svc.command), use_entrypoint=True)


def readiness_probe(
    svc: ServiceSpec,
    aliases: Mapping[str, str],
    bound: dagger.Service,
    built: Mapping[str, dagger.Container] | None = None,
    ca_bundle: Path | None = None,
) -> dagger.Container | None:
    """A container that retries the service's readiness command until it passes.

    Dagger cannot exec into a running service, so the command runs in a
    sibling container from the service's own image (it has the client, e.g.
    ``pg_isready``) with the service bound under its name: a readiness command
    reaches the service by that name (``pg_isready -h db``), as the job will.
    TCP and HEALTHCHECK readiness need no probe: Dagger waits for exposed ports.
    """
    readiness = svc.readiness
    if readiness is None or readiness.kind is not ReadinessKind.COMMAND:
        return None
    script = _PROBE_SCRIPT.format(
        name=svc.name,
        timeout=max(1, math.ceil(readiness.timeout_s)),
        interval=readiness.interval_s,
    )
    return (
        service_container(svc, aliases, built, ca_bundle)
        .with_service_binding(svc.name, bound)
        .with_exec(["sh", "-c", script, f"probe-{svc.name}", *readiness.command])
    )


@dataclass(frozen=True, slots=True)
class Chain:
    """A spec as Dagger objects: the job container (commands not yet applied) and its services.

    ``services`` keeps the very objects bound into ``container``, so the engine
    can start them explicitly (and stop them) and probe them before the job.
    """

    container: dagger.Container
    services: tuple[tuple[ServiceSpec, dagger.Service], ...]


def job_chain(
    spec: ContainerSpec,
    *,
    aliases: Mapping[str, str],
    ca_bundle: Path | None,
    secrets: Mapping[str, str],
    built: Mapping[str, dagger.Container] | None = None,
) -> Chain:
    """Everything of the spec but its commands, as one lazy ``Container``.

    ``secrets`` maps each name in ``spec.secrets`` to its value (from
    ``pipeline.model.secrets.resolve``); ``describe`` passes placeholders. CPU and
    memory limits have no Dagger counterpart per container and are not applied.
    """
    ctr = with_ca(image_container(spec.image, aliases, built), ca_bundle)
    for key, value in spec.env:
        ctr = ctr.with_env_variable(key, value)
    for cache in spec.caches:
        ctr = with_cache(ctr, cache)
    bound: list[tuple[ServiceSpec, dagger.Service]] = []
    for svc_spec in spec.services:
        # A shared service has no owner: Dagger runs one instance for identical services.
        owner = "" if svc_spec.shared else spec.name
        svc = service(svc_spec, aliases, built, owner=owner, ca_bundle=ca_bundle)
        bound.append((svc_spec, svc))
        ctr = ctr.with_service_binding(svc_spec.name, svc)
    for mount in spec.directories:
        src = dag.host().directory(
            host_path(mount.source), include=list(mount.include), exclude=list(mount.exclude)
        )
        ctr = ctr.with_directory(mount.dest, src)
    for f in spec.files:
        ctr = ctr.with_file(f.dest, dag.host().file(host_path(f.source)))
    for name in spec.secrets:
        ctr = ctr.with_secret_variable(name, dag.set_secret(name, secrets[name]))
    ctr = ctr.with_workdir(spec.workdir)
    if spec.user is not None:
        ctr = ctr.with_user(spec.user)
    return Chain(container=ctr, services=tuple(bound))


def with_command(ctr: dagger.Container, argv: Sequence[str]) -> dagger.Container:
    """One command; ``expect=ANY`` makes a non-zero exit a value to read, not an error."""
    return ctr.with_exec(list(argv), expect=dagger.ReturnType.ANY)


def full_chain(ctr: dagger.Container, commands: Sequence[Sequence[str]]) -> dagger.Container:
    """The container after every command (what ``describe`` shows; ``run`` stops early)."""
    for argv in commands:
        ctr = with_command(ctr, argv)
    return ctr


# --- reading a lazy query back -------------------------------------------------


@dataclass(frozen=True, slots=True)
class Call:
    """One selection of a lazy query, in the SDK's Python spelling."""

    type_name: str  # GraphQL type the field is on ("Query", "Container"...)
    method: str  # Python method name ("from_", "with_mounted_cache")
    args: dict[str, Any]  # GraphQL argument name -> value, as the SDK will send it


def calls(obj: Type) -> list[Call]:
    """The selections of a lazy Dagger object, without an engine."""
    return [Call(f.type_name, _python_name(f.type_name, f.name), dict(f.args)) for f in obj._ctx.selections]


def describe_chain(obj: Type, names: Mapping[int, str] | None = None) -> list[str]:
    """The chain as readable lines: the first builds the object, then one ``.call`` a line.

    ``names`` maps ``id()`` of nested objects (services) to a short label shown
    instead of their whole chain. A ``set_secret`` value is always masked.
    """
    labels = names or {}
    lines: list[str] = []
    for sel in obj._ctx.selections:
        text = _render_call(sel.type_name, sel.name, sel.args, labels)
        # A new line for each step on the container, except `from`, which
        # belongs with `container()` as the line that names the image.
        if lines and sel.type_name == "Container" and sel.name != "from":
            lines.append("." + text)
        elif lines:
            lines[-1] += "." + text
        else:
            lines.append(text)
    return lines


def _sdk_class(type_name: str) -> type[Any] | None:
    cls = dagger.Client if type_name == "Query" else getattr(dagger, type_name, None)
    return cls if isinstance(cls, type) else None


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _python_name(type_name: str, field: str) -> str:
    name = _snake(field)
    cls = _sdk_class(type_name)
    if cls is not None and not hasattr(cls, name) and hasattr(cls, name + "_"):
        return name + "_"  # `from` is a Python keyword: the SDK spells it `from_`
    return name


def _render_call(type_name: str, field: str, args: dict[str, Any], labels: Mapping[int, str]) -> str:
    method = _python_name(type_name, field)
    cls = _sdk_class(type_name)
    fn = getattr(cls, method, None) if cls is not None else None
    positional: list[str] = []
    hints: dict[str, Any] = {}
    if fn is not None:
        params = list(inspect.signature(fn).parameters.values())[1:]  # drop self
        positional = [p.name for p in params if p.kind is p.POSITIONAL_OR_KEYWORD]
        try:
            hints = typing.get_type_hints(fn)
        except (NameError, TypeError):  # an annotation we cannot evaluate: plain output
            hints = {}

    def text(gql_name: str) -> str:
        if type_name == "Query" and field == "setSecret" and gql_name == "plaintext":
            return MASK  # a secret's value is never printed; its name is enough
        return _render_value(args[gql_name], hints.get(_snake(gql_name)), labels)

    # Positional arguments in the SDK's signature order, then keywords as sent.
    pos = sorted((g for g in args if _snake(g) in positional), key=lambda g: positional.index(_snake(g)))
    kw = [g for g in args if _snake(g) not in positional]
    rendered = [text(g) for g in pos] + [f"{_snake(g)}={text(g)}" for g in kw]
    return f"{method}({', '.join(rendered)})"


def _enum_class(hint: Any) -> type[Enum] | None:
    for candidate in (hint, *typing.get_args(hint)):
        if isinstance(candidate, type) and issubclass(candidate, Enum):
            return candidate
    return None


def _input_class(hint: Any) -> type[Any] | None:
    for candidate in (hint, *typing.get_args(hint)):
        for inner in (candidate, *typing.get_args(candidate)):
            if isinstance(inner, type) and issubclass(inner, Input):
                return inner
    return None


def _render_value(value: Any, hint: Any, labels: Mapping[int, str]) -> str:  # noqa: PLR0911  one per kind
    if isinstance(value, Type):
        if id(value) in labels:
            return labels[id(value)]
        return "".join(
            ("." if i else "") + _render_call(f.type_name, f.name, f.args, labels)
            for i, f in enumerate(value._ctx.selections)
        )
    if isinstance(value, str) and _enum_class(hint) is not None:
        return value  # LOCKED, ANY: the enum member, as the SDK sends it
    if isinstance(value, dict):
        cls = _input_class(hint)
        inner = ", ".join(f"{k}={_render_value(v, None, labels)}" for k, v in value.items())
        return f"{cls.__name__}({inner})" if cls is not None else "{" + inner + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_render_value(v, hint, labels) for v in value) + "]"
    if isinstance(value, str):
        return json.dumps(value)  # double quotes and escapes, as in the SDK's docs
    return repr(value)
