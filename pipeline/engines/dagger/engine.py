"""The Dagger engine: runs a container spec as a Dagger query (dagger-io), in one session.

The spec becomes a lazy chain in ``chain`` (pure, testable without an engine); here it
is evaluated: ``session`` opens and closes the run's session, ``services`` starts and
probes a job's services, ``job`` runs its commands and exports its outputs; ``errors``
maps the SDK's exceptions to ours in one place. Every ``run`` gets a nonce of its own
(see ``chain``), so the engine never replays an earlier result: Slipway's job cache
decides what is reused. Image builds keep Dagger's cache.

Not here: a lookup of an image by tag (Dagger addresses what it built by ID;
``image_digest`` answers None), cache volume archives and an interactive shell
(``NotSupported``, naming ``--engine docker``). CPU and memory limits and CPU weights
have no Dagger counterpart per container: ignored, and ``describe`` says so (raising
``NotSupported`` would fail every pytest job, whose stage always sets a CPU weight, for a
scheduling hint). A shared service is the session's one instance (``chain.service``):
no job stops it, closing the session does; ``prepare_services`` has nothing to do.
"""

from __future__ import annotations

import hashlib
import os
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import dagger
from dagger import dag

from pipeline.engines.base import RunContext, RunResult
from pipeline.engines.dagger.chain import (
    Chain,
    Setting,
    build_container,
    full_chain,
    job_chain,
    readiness_probe,
)
from pipeline.engines.dagger.connection import DaggerTarget
from pipeline.engines.dagger.errors import DaggerJobFailed, SessionLost, dagger_errors
from pipeline.engines.dagger.job import export_outputs, run_commands
from pipeline.engines.dagger.readback import describe_chain
from pipeline.engines.dagger.services import EXIT_SERVICE_NOT_READY, start_services, stop_services
from pipeline.engines.dagger.session import Session
from pipeline.model.errors import EngineJobError, NotSupported
from pipeline.model.joblog import JobLog
from pipeline.model.secrets import MASK, resolve
from pipeline.model.sizes import format_size
from pipeline.model.spec import ContainerSpec, Credentials, ImageBuild
from pipeline.model.timing import PhaseClock

NONCE_PLACEHOLDER = "<unique per run>"

_NO_VOLUME_ARCHIVES = (
    "cache volume archives need --engine docker; the Dagger engine keeps its cache "
    "volumes itself (job results and the S3 store work the same on both)"
)


def memory_not_applied(memory_bytes: int) -> str:
    """The job log's warning for a stage's ``memory:`` (a setting the user wrote, unlike
    the CPU weight the pytest stage sizes itself, so it is said, not only described)."""
    return (
        f"warning: memory limit {format_size(memory_bytes)} not applied: the Dagger engine has no "
        "per-container memory limit; the job runs without one (--engine docker applies it)"
    )


class DaggerEngine:
    """Runs container specs on a Dagger engine, one session for the engine's life."""

    name = "dagger"

    def __init__(
        self,
        context: RunContext,
        *,
        target: DaggerTarget | None = None,
        aliases: Mapping[str, str] | None = None,
        ca_bundle: Path | None = None,
        environ: Mapping[str, str] | None = None,
        mirrored: frozenset[str] = frozenset(),
    ) -> None:
        self._context = context
        self._environ = os.environ if environ is None else environ
        self._built: dict[str, dagger.Container] = {}
        self._setting = Setting(
            aliases=dict(aliases or {}), ca_bundle=ca_bundle, built=self._built, mirrored=mirrored
        )
        self._session = Session(
            target, environ=self._environ, redactor=context.redactor, log_dir=context.log_dir
        )

    async def aclose(self) -> None:
        """Close the session (the engine drops what it ran for us, services too); never raises."""
        await self._session.close()

    # --- the Engine protocol --------------------------------------------------

    def describe(self, spec: ContainerSpec) -> list[str]:
        """The Dagger calls ``run`` makes, read back from the lazy query itself."""
        chain = job_chain(
            spec, self._setting, secrets=dict.fromkeys(spec.secrets, MASK), nonce=NONCE_PLACEHOLDER
        )
        labels = {id(svc): svc_spec.name for svc_spec, svc in chain.services}
        lines: list[str] = []
        for svc_spec, svc in chain.services:
            lines.append(f"service {svc_spec.name} = " + "".join(describe_chain(svc)))
            made = readiness_probe(svc_spec, self._setting, svc, NONCE_PLACEHOLDER)
            if made is not None:
                lines.append(f"probe {svc_spec.name} = " + "".join(describe_chain(made[0], labels)))
                if made[1]:
                    lines.append(f"# {made[1]}")
        lines.extend(describe_chain(full_chain(chain.container, spec.commands), labels))
        if chain.services:
            lines.append(
                "# services: image pulled first, then started (start) and probed before the first "
                "command, stopped after the last"
            )
        shared = [svc_spec.name for svc_spec, _ in chain.services if svc_spec.shared]
        if shared:
            lines.append(
                f"# shared {', '.join(shared)}: no owner, one instance for the run's jobs, "
                "never stopped by a job (the session's end stops it)"
            )
        if len(spec.commands) > 1:
            lines.append("# each with_exec is evaluated (exit_code) before the next: the first failure stops")
        lines.append(f"# {NONCE_PLACEHOLDER}: a nonce per run, so Dagger never replays an earlier result")
        if spec.outputs:
            lines.append(
                "# then, also after a failure: "
                + ", ".join(f"directory|file({o!r}).export(...)" for o in spec.outputs)
            )
        limits = spec.limits
        if limits.cpus is not None or limits.memory_bytes is not None or limits.cpu_weight is not None:
            weight = f" cpu_weight={limits.cpu_weight}" if limits.cpu_weight is not None else ""
            lines.append(
                f"# limits cpus={limits.cpus} memory_bytes={limits.memory_bytes}{weight} "
                "not applied: Dagger has no per-container CPU or memory limits"
            )
        return lines

    async def run(self, spec: ContainerSpec, *, log_path: Path, output_dir: Path) -> RunResult:
        """Services up, commands in order (stop at the first failure), outputs exported."""
        secrets = resolve(spec.secrets, self._environ)
        self._context.redactor.add(secrets.values())
        await self._session.ensure()
        started = time.monotonic()
        nonce = uuid.uuid4().hex
        chain = job_chain(spec, self._setting, secrets=secrets, nonce=nonce)
        clock = PhaseClock()
        with JobLog(log_path, self._context.redactor) as log:
            if spec.limits.memory_bytes:
                log.engine(memory_not_applied(spec.limits.memory_bytes))
            try:
                exit_code, outputs = await self._session.watchdog.guarded(
                    lambda: self._run_logged(spec, chain, nonce, log, output_dir, clock)
                )
            except SessionLost as exc:
                log.engine(f"error: {exc}")
                raise
        return RunResult(
            exit_code=exit_code,
            log_path=log_path,
            duration_s=time.monotonic() - started,
            outputs=outputs,
            phases=dict(clock.phases),
        )

    async def _run_logged(
        self, spec: ContainerSpec, chain: Chain, nonce: str, log: JobLog, output_dir: Path, clock: PhaseClock
    ) -> tuple[int, dict[str, Path]]:
        """The job, timed by phase: services, commands, export, cleanup (stopping services).

        Dagger evaluates the chain lazily, so "commands" also holds the job image's pull
        or build and the source upload (the first command forces them), and no
        command_start/command_end marks are given: they would charge that to the command.
        """
        running: list[dagger.Service] = []
        try:
            with clock.phase("services"):
                ready = await start_services(chain, self._setting, nonce, log, running)
            if not ready:
                return EXIT_SERVICE_NOT_READY, {}
            with clock.phase("commands"):
                ran = await run_commands(chain.container, spec, log)
            outputs = {}
            if ran.container is not None and spec.outputs:
                with clock.phase("export"):
                    outputs = await export_outputs(ran.container, spec, output_dir, log)
            return ran.exit_code, outputs
        except DaggerJobFailed as exc:
            # The job's own image could not be had (a Dockerfile that fails, an image that
            # cannot be pulled): this job fails with the engine's message, the others go on.
            for line in exc.output.splitlines():
                log.line(line)
            log.engine(f"error: {exc}")
            raise
        finally:
            with clock.phase("cleanup"):
                await stop_services(running)

    async def prepare_services(self, spec: ContainerSpec, *, log_path: Path) -> None:
        """Nothing ahead of time: Dagger starts a service when the first job binds it, and
        runs one instance for identical (shared) services (``chain.service``)."""

    async def build_image(self, build: ImageBuild, *, log_path: Path) -> str:
        """Build with ``docker_build``; returns a ref that later specs (on this engine) can name."""
        await self._session.ensure()
        started = time.monotonic()
        ctr = build_container(build)
        with JobLog(log_path, self._context.redactor) as log:
            log.engine(" ".join(describe_chain(ctr)))
            try:
                async with dagger_errors(f"build {build.context / build.dockerfile}"):
                    ctr = await self._session.watchdog.guarded(ctr.sync)
                    ctr_id = await ctr.id()
            except DaggerJobFailed as exc:
                for line in exc.output.splitlines():
                    log.line(line)
                log.engine(f"build failed: {exc}")
                raise DaggerJobFailed(f"{exc} (log: {log_path})") from exc
            ref = f"dagger-build/{hashlib.sha256(ctr_id.encode()).hexdigest()[:16]}"
            self._built[ref] = ctr
            log.engine(f"built {ref} in {time.monotonic() - started:.1f}s")
        return ref

    async def image_digest(self, ref: str) -> str | None:
        """None: Dagger keeps images by ID in its engine, not by a tag it could look up;
        a repeated build of the same inputs is answered by its own cache."""
        return None

    async def publish(self, built: str, dest: str, *, credentials: Credentials | None, log_path: Path) -> str:
        """``container.with_registry_auth(...).publish(dest)`` on the container ``build_image``
        built; the password is a Dagger secret, never a plain string in the query. Returns
        the digest the registry stored (``publish`` answers ``ref@sha256:...``)."""
        if built not in self._built:
            raise EngineJobError(f"{built} was not built by this Dagger session")
        ctr = self._built[built]
        with JobLog(log_path, self._context.redactor) as log:
            try:
                async with dagger_errors(f"publish {dest}"):
                    if credentials is not None:
                        secret = dag.set_secret("slipway-registry-password", credentials.password)
                        host = dest.partition("/")[0]  # host[:port] of host/repo:tag
                        ctr = ctr.with_registry_auth(host, credentials.username, secret)
                    published = await self._session.watchdog.guarded(lambda: ctr.publish(dest))
            except DaggerJobFailed as exc:
                log.engine(f"publish {dest} failed: {exc}")
                raise
            log.engine(f"published {published}")
        return published.rsplit("@", 1)[-1]

    async def cache_volume_empty(self, cache: str) -> bool:
        raise NotSupported(_NO_VOLUME_ARCHIVES)

    async def export_cache_volume(self, cache: str, dest: Path) -> None:
        raise NotSupported(_NO_VOLUME_ARCHIVES)

    async def import_cache_volume(self, cache: str, tar: Path) -> None:
        raise NotSupported(_NO_VOLUME_ARCHIVES)

    async def shell(
        self,
        spec: ContainerSpec,
        *,
        command: Sequence[str],
        log_path: Path,
        output_dir: Path,
        announce: Callable[[str], None],
    ) -> int:
        raise NotSupported(
            "reproduce --shell needs --engine docker: the Dagger engine here gives no "
            "interactive terminal into a job's container"
        )
