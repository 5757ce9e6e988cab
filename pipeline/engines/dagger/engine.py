"""The Dagger engine: runs a container spec as a Dagger query (dagger-io).

The spec becomes a lazy chain in ``chain`` (pure, testable without an
engine); this module evaluates it in one engine session per ``DaggerEngine``,
writes the output to the job's log through the run's redactor, and maps the
SDK's exceptions to ours in one place (``_dagger_errors``): a session that cannot
start or be reached is ``EngineUnavailable``; a query that fails (an image that
cannot be pulled, a host path that is not there) is ``EngineJobError``, which
fails that job alone.

How a run goes, and why:

- Services are started explicitly (``Service.start``), so one instance stays
  up from the readiness probe through the last command, then stopped. Dagger's
  start waits for exposed ports (TCP readiness; HEALTHCHECK readiness relies on
  the same wait). A command readiness check runs in a probe container first
  (see ``dagger_chain.readiness_probe``); if it fails, the job is a failed
  result whose log says which service was not ready.
- Commands are applied one ``with_exec(expect=ANY)`` at a time and each is
  evaluated (``exit_code``) before the next is chained, so the first non-zero
  exit stops the job. This keeps argv lists as argv (no shell wrapper, no
  shell needed in the image) and gives each command's output its own section
  of the log. Dagger caches the earlier steps, so re-sending the chain is cheap.
- Outputs are exported from the container as it was after the last command
  that ran, failed or not (``expect=ANY`` keeps its file system).
- CPU and memory limits have no Dagger counterpart per container: ignored, and
  ``describe`` says so.
- Not here: a lookup of an image by tag (Dagger addresses what it built by ID;
  ``image_digest`` answers None), cache volume archives and an interactive shell
  (``NotSupported``, naming ``--engine docker``).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import AsyncExitStack, asynccontextmanager, suppress
from pathlib import Path, PurePosixPath
from typing import TextIO

import anyio
import dagger
from dagger import dag

from pipeline.engines.base import RunContext, RunResult
from pipeline.engines.dagger.chain import (
    Chain,
    build_container,
    describe_chain,
    full_chain,
    job_chain,
    readiness_probe,
    with_command,
)
from pipeline.engines.select import dagger_session
from pipeline.model.errors import EngineJobError, EngineUnavailable, NotSupported
from pipeline.model.secrets import MASK, resolve
from pipeline.model.spec import ContainerSpec, Credentials, ImageBuild, Readiness

INSTALL_HELP = (
    "run Slipway under `dagger run python -m pipeline ...`, install the Dagger CLI "
    "(https://docs.dagger.io/install) so that `dagger` is on PATH, "
    "or use `--engine docker`"
)


_NO_VOLUME_ARCHIVES = (
    "cache volume archives need --engine docker; the Dagger engine keeps its cache "
    "volumes itself (job results and the S3 store work the same on both)"
)


class DaggerJobFailed(EngineJobError):
    """A Dagger step outside the job's own commands failed (a build, a probe)."""


def dagger_available(environ: Mapping[str, str] | None = None) -> str | None:
    """Why a Dagger engine can be used here, or None if it cannot.

    The SDK would otherwise download a CLI on first use: on a runner with no
    internet that hangs, then fails; so only a session or a CLI at hand count.
    """
    env = os.environ if environ is None else environ
    # The same test as `--engine auto` (select.py), so the two cannot disagree.
    if dagger_session(env):
        return "a Dagger session is open (dagger run)"
    if cli := env.get("_EXPERIMENTAL_DAGGER_CLI_BIN"):
        return f"the Dagger CLI at {cli}"
    if cli := shutil.which("dagger", path=env.get("PATH")):
        return f"the Dagger CLI on PATH ({cli})"
    return None


@asynccontextmanager
async def _dagger_errors(what: str) -> AsyncIterator[None]:
    """The one place where dagger-io's exceptions become Slipway's errors.

    ``ExecError`` is not here: the engine reads it as a failed result where a
    step is allowed to fail (a probe), and only lets it through from builds.
    """
    try:
        yield
    except dagger.ExecError as exc:
        raise DaggerJobFailed(f"{what}: command {exc.command} exited {exc.exit_code}") from exc
    except dagger.ProvisionError as exc:  # includes SessionError, DownloadError
        raise EngineUnavailable(f"cannot start a Dagger engine session ({exc}): {INSTALL_HELP}") from exc
    except (dagger.ClientConnectionError, dagger.TransportError) as exc:
        raise EngineUnavailable(f"cannot reach the Dagger engine to {what} ({exc}): {INSTALL_HELP}") from exc
    except dagger.QueryError as exc:
        # An image that cannot be pulled, a host path that is not there: this job's.
        raise EngineJobError(f"Dagger could not {what}: {exc}") from exc
    except dagger.DaggerError as exc:
        raise EngineJobError(f"Dagger failed to {what}: {exc}") from exc


class DaggerEngine:
    """Runs container specs on a Dagger engine, one session for the engine's life."""

    name = "dagger"

    def __init__(
        self,
        context: RunContext,
        *,
        aliases: Mapping[str, str] | None = None,
        ca_bundle: Path | None = None,
        environ: Mapping[str, str] | None = None,
        engine_log: TextIO | None = None,
    ) -> None:
        self._context = context
        self._aliases = dict(aliases or {})
        self._ca_bundle = ca_bundle
        self._environ = os.environ if environ is None else environ
        self._engine_log = engine_log  # the engine's own progress; default: discarded
        self._stack = AsyncExitStack()
        self._connected = False
        self._lock = anyio.Lock()
        self._built: dict[str, dagger.Container] = {}

    # --- session -----------------------------------------------------------

    async def _connect(self) -> None:
        async with self._lock:
            if self._connected:
                return
            reason = dagger_available(self._environ)
            if reason is None:
                raise EngineUnavailable(f"no Dagger engine session and no Dagger CLI: {INSTALL_HELP}")
            cli = shutil.which("dagger", path=self._environ.get("PATH"))
            if "DAGGER_SESSION_PORT" not in self._environ and cli:
                # The SDK only finds a CLI through this variable (else it
                # downloads one); point it at the one on PATH.
                os.environ.setdefault("_EXPERIMENTAL_DAGGER_CLI_BIN", cli)
            try:
                async with _dagger_errors("connect to the Dagger engine"):
                    await self._stack.enter_async_context(
                        dagger.connection(dagger.Config(log_output=self._engine_log))
                    )
            except EngineUnavailable:
                # `dag` is a process-wide connection: a failed start leaves it
                # holding the dead session, and a later connection would reuse it.
                with suppress(Exception):
                    await dagger.close()
                raise
            self._connected = True

    async def aclose(self) -> None:
        """Close the session; the engine drops what it ran for us (services too)."""
        self._connected = False
        async with _dagger_errors("close the Dagger session"):
            await self._stack.aclose()

    # --- the Engine protocol --------------------------------------------------

    def describe(self, spec: ContainerSpec) -> list[str]:
        """The Dagger calls ``run`` makes, read back from the lazy query itself."""
        placeholders = dict.fromkeys(spec.secrets, MASK)
        chain = self._chain(spec, placeholders)
        labels = {id(svc): svc_spec.name for svc_spec, svc in chain.services}
        lines: list[str] = []
        for svc_spec, svc in chain.services:
            lines.append(f"service {svc_spec.name} = " + "".join(_inline(svc, {})))
            probe = readiness_probe(svc_spec, self._aliases, svc, self._built, self._ca_bundle)
            if probe is not None:
                lines.append(f"probe {svc_spec.name} = " + "".join(_inline(probe, labels)))
        lines.extend(describe_chain(full_chain(chain.container, spec.commands), labels))
        if chain.services:
            lines.append(
                "# services are started (start) and probed before the first command, stopped after the last"
            )
        if len(spec.commands) > 1:
            lines.append("# each with_exec is evaluated (exit_code) before the next: the first failure stops")
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

    async def prepare_services(self, spec: ContainerSpec, *, log_path: Path) -> None:
        """Nothing ahead of time: Dagger starts a service when the first job binds it, and
        runs one instance for identical (shared) services."""

    async def build_image(self, build: ImageBuild, *, log_path: Path) -> str:
        """Build with ``docker_build``; returns a ref that later specs (on this engine) can name."""
        await self._connect()
        log_path.parent.mkdir(parents=True, exist_ok=True)
        started = time.monotonic()
        with log_path.open("w", encoding="utf-8") as log:
            log.write(self._redact("\n".join(describe_chain(build_container(build)))) + "\n")
            try:
                async with _dagger_errors(f"build {build.context}/{build.dockerfile}"):
                    ctr = await build_container(build).sync()
                    ctr_id = await ctr.id()
            except DaggerJobFailed as exc:
                log.write(self._redact(_exec_details(exc)))
                raise DaggerJobFailed(f"{exc} (log: {log_path})") from exc
            ref = f"dagger-build/{hashlib.sha256(ctr_id.encode()).hexdigest()[:16]}"
            self._built[ref] = ctr
            log.write(f"built {ref} in {time.monotonic() - started:.1f}s\n")
        return ref

    async def image_digest(self, ref: str) -> str | None:
        """None: Dagger keeps images by ID in its engine, not by a tag it could look up;
        a repeated build of the same inputs is answered by its own cache."""
        return None

    async def publish(
        self, built: str, dest: str, *, credentials: Credentials | None, log_path: Path
    ) -> str:
        """``container.with_registry_auth(...).publish(dest)`` on the container ``build_image``
        built; the password is a Dagger secret, never a plain string in the query."""
        if built not in self._built:
            raise EngineJobError(f"{built} was not built by this Dagger session")
        ctr = self._built[built]
        async with _dagger_errors(f"publish {dest}"):
            if credentials is not None:
                secret = dag.set_secret("slipway-registry-password", credentials.password)
                host = dest.partition("/")[0]  # host[:port] of host/repo:tag
                ctr = ctr.with_registry_auth(host, credentials.username, secret)
            published = await ctr.publish(dest)  # "host/repo:tag@sha256:..."
        with log_path.open("a", encoding="utf-8") as log:
            log.write(self._redact(f"published {published}\n"))
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

    async def run(self, spec: ContainerSpec, *, log_path: Path, output_dir: Path) -> RunResult:
        """Run the spec's commands in order, stop at the first failure, export outputs."""
        secrets = resolve(spec.secrets, self._environ)
        self._context.redactor.add(secrets.values())
        await self._connect()
        log_path.parent.mkdir(parents=True, exist_ok=True)
        started = time.monotonic()
        chain = self._chain(spec, secrets)
        with log_path.open("w", encoding="utf-8") as log:
            exit_code, ctr = await self._run_logged(spec, chain, log)
            outputs = {}
            if ctr is not None and spec.outputs:
                outputs = await self._export(ctr, spec, output_dir, log)
        return RunResult(
            exit_code=exit_code,
            log_path=log_path,
            duration_s=time.monotonic() - started,
            outputs=outputs,
        )

    # --- steps ----------------------------------------------------------------

    def _chain(self, spec: ContainerSpec, secrets: Mapping[str, str]) -> Chain:
        return job_chain(
            spec,
            aliases=self._aliases,
            ca_bundle=self._ca_bundle,
            secrets=secrets,
            built=self._built,
        )

    def _redact(self, text: str) -> str:
        return self._context.redactor(text)

    async def _run_logged(
        self, spec: ContainerSpec, chain: Chain, log: TextIO
    ) -> tuple[int, dagger.Container | None]:
        """Exit code of the job, and the container to export from (None: never started)."""
        what = f"run job {spec.name}"
        started: list[dagger.Service] = []
        try:
            for svc_spec, svc in chain.services:
                ready = svc_spec.readiness or Readiness()
                log.write(f"--- service {svc_spec.name}: starting\n")
                try:
                    with anyio.fail_after(ready.timeout_s):
                        async with _dagger_errors(f"start service {svc_spec.name}"):
                            svc_started = await svc.start()
                            # The run's shared instance outlives the job (the session stops it).
                            if not svc_spec.shared:
                                started.append(svc_started)
                except TimeoutError:
                    log.write(f"service {svc_spec.name} did not start within {ready.timeout_s}s\n")
                    return 1, None
                probe = readiness_probe(svc_spec, self._aliases, svc, self._built, self._ca_bundle)
                if probe is not None:
                    try:
                        async with _dagger_errors(f"probe service {svc_spec.name}"):
                            await probe.sync()
                    except DaggerJobFailed as exc:
                        log.write(self._redact(_exec_details(exc)))
                        log.write(f"service {svc_spec.name} is not ready\n")
                        return 1, None
                log.write(f"--- service {svc_spec.name}: ready\n")
            ctr = chain.container
            exit_code = 0
            for argv in spec.commands:
                ctr = with_command(ctr, argv)
                log.write(self._redact(f"--- $ {' '.join(argv)}\n"))
                log.flush()
                try:
                    async with _dagger_errors(what):
                        exit_code = await ctr.exit_code()
                        output = await ctr.combined_output()
                except DaggerJobFailed as exc:
                    # Only a Dockerfile build of the job's image can raise here:
                    # the commands themselves are allowed to fail (expect=ANY).
                    log.write(self._redact(_exec_details(exc)))
                    return 1, None
                log.write(self._redact(output))
                if output and not output.endswith("\n"):
                    log.write("\n")
                log.write(f"--- exit code {exit_code}\n")
                if exit_code != 0:
                    break
            return exit_code, ctr
        finally:
            for svc in started:
                # Stopping is tidiness: the session's end stops them anyway.
                with suppress(dagger.DaggerError):
                    await svc.stop()

    async def _export(
        self, ctr: dagger.Container, spec: ContainerSpec, output_dir: Path, log: TextIO
    ) -> dict[str, Path]:
        """Export each output that exists, mirroring its container path under ``output_dir``."""
        exported: dict[str, Path] = {}
        for path in spec.outputs:
            dest = output_dir / PurePosixPath(path).relative_to("/")
            async with _dagger_errors(f"export {path} from job {spec.name}"):
                if not await ctr.exists(path):
                    log.write(f"--- output {path}: not found, not exported\n")
                    continue
                dest.parent.mkdir(parents=True, exist_ok=True)
                if await ctr.exists(path, expected_type=dagger.ExistsType.DIRECTORY_TYPE):
                    await ctr.directory(path).export(str(dest))
                else:
                    await ctr.file(path).export(str(dest))
            exported[path] = dest
        return exported


def _inline(obj: dagger.Service | dagger.Container, labels: Mapping[int, str]) -> str:
    return "".join(describe_chain(obj, labels))


def _exec_details(exc: BaseException) -> str:
    cause = exc.__cause__
    if isinstance(cause, dagger.ExecError):
        return f"{cause.stdout}{cause.stderr}{cause.message}\n"
    return f"{exc}\n"
