"""The ``deploy`` stage kind: put images live in an environment, verify, roll back on failure.

- ``docker``: the new release starts beside the live one, is health-checked
  from inside the environment's network before it gets any traffic, the proxy
  switches to it, the public health check runs, the old release drains and stops.
- ``command``: the user's script gets IMAGE, TAG, DIGEST, ENVIRONMENT (and
  IMAGE_REF, GIT_SHA); then the health check.
- ``check``: the live release is verified again; if it fails it is rolled back.

The targets themselves are in ``pipeline.ship.deploy`` (``rollout``, ``command``,
``health``). A deploy command and a command health check get a small base
environment, the stage's ``env``, its secrets and what to deploy; never the rest
of the runner's environment.

``promote_from`` deploys the digest the other environment runs (from its
release history); the registry gets ``<env>`` and ``<env>-<sha>`` tags on that
digest by a manifest PUT. Nothing is rebuilt or pulled to promote.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import anyio

from pipeline.config.model import DeployStage, Health
from pipeline.model.errors import SlipwayError
from pipeline.model.joblog import JobLog
from pipeline.model.outcome import JobOutcome, JobStatus
from pipeline.model.secrets import resolve
from pipeline.model.spec import ContainerSpec
from pipeline.ship import images as app_images
from pipeline.ship.deploy.command import command_env, run_command
from pipeline.ship.deploy.docker_host import DockerHost, Environment
from pipeline.ship.deploy.health import Probe, command_probe, http_probe, until_healthy
from pipeline.ship.deploy.rollout import Rollout, Service, Step, activate
from pipeline.ship.releases import FAILED, SUCCESS, Release, ReleaseStore, new_id, now
from pipeline.stages.base import JobContext, never_cached, no_builds, no_facts

PROXY_IMAGE = "python:3.11-slim"  # logical name; the config's aliases say what runs


def _stage(ctx: JobContext) -> DeployStage:
    assert isinstance(ctx.stage, DeployStage)
    return ctx.stage


def specs(ctx: JobContext) -> list[ContainerSpec]:
    # Deploys act on the Docker host or run the user's script on the runner:
    # no job container for ``plan --calls`` to show.
    return []


cache_inputs = never_cached  # a deploy changes the world
cache_specs = specs
cache_facts = no_facts
builds = no_builds


class _Job:
    """One deploy job: its log, store and stage, so the steps below stay short."""

    def __init__(self, ctx: JobContext, log: JobLog) -> None:
        self.ctx = ctx
        self.stage = _stage(ctx)
        self.log = log
        self.store = ReleaseStore(ctx.run.config.base_dir, store=ctx.run.store)
        self.sha = ctx.run.config.variables.get("GIT_SHA", "")

    def say(self, text: str) -> None:
        self.log.engine(text)

    def environment(self, port: int | None = None) -> Environment:
        port = port or self.stage.port
        if port is None:
            raise SlipwayError(f"stage {self.stage.name}: a docker deploy needs `port:`")
        return Environment(name=self.stage.environment, port=port, proxy_image=PROXY_IMAGE)

    # -- which images -------------------------------------------------------

    async def images(self) -> dict[str, dict[str, str]]:
        stage = self.stage
        if not stage.images:
            raise SlipwayError(f"stage {stage.name}: `images:` names no bake target to deploy")
        if stage.promote_from:
            source = self.store.current(stage.promote_from)
            if source is None:
                history = self.store.path(stage.promote_from)
                raise SlipwayError(f"nothing is live in {stage.promote_from} to promote (history: {history})")
            missing = [t for t in stage.images if t not in source.images]
            if missing:
                raise SlipwayError(f"{stage.promote_from}'s live release {source.id} has no image {missing}")
            self.say(
                f"promoting {stage.promote_from}'s live release {source.id} (commit {source.git_sha[:12]})"
            )
            return {t: dict(source.images[t]) for t in stage.images}
        out = {}
        for target in stage.images:
            image = await app_images.find(self.ctx.run.config, self.ctx.run.state.app_images, target)
            out[target] = {
                "repository": image.repository or "",
                "digest": image.digest or "",
                "ref": image.pinned,
            }
        return out

    async def tag_in_registry(self, images: dict[str, dict[str, str]], git_sha: str) -> list[str]:
        """Point ``<env>`` and ``<env>-<sha>`` at each image's digest (promotion by digest)."""
        if self.ctx.run.config.model.registry is None:
            return []
        done = []
        async with app_images.registry_client(self.ctx.run.config) as client:
            for info in images.values():
                if not info.get("repository") or not info.get("digest"):
                    continue
                _, _, repo = info["repository"].partition("/")
                for tag in (self.stage.environment, f"{self.stage.environment}-{git_sha}"):
                    await client.tag(repo, info["digest"], tag)
                    done.append(f"{info['repository']}:{tag}@{info['digest']}")
        for line in done:
            self.say(f"registry: {line}")
        return done

    # -- health -------------------------------------------------------------------

    def public_probe(self, health: Health, env_vars: dict[str, str]) -> Probe | None:
        if health.http:
            url = health.http
            return lambda: http_probe(url, health.timeout_s)
        if health.command:
            argv = tuple(health.command)
            cwd = str(self.ctx.run.config.base_dir)
            return lambda: command_probe(argv, health.timeout_s, env_vars, cwd)
        return None

    # -- docker target ------------------------------------------------------------

    def rollout(self) -> Rollout:
        config, stage = self.ctx.run.config, self.stage
        services = tuple(
            Service(
                name=name,
                image=config.model.services[name].image,  # the host applies the aliases
                env=dict(config.model.services[name].env),
                command=tuple(config.model.services[name].command),
            )
            for name in stage.services
        )
        health = stage.health

        def public_check(env_vars: dict[str, str]) -> Probe | None:
            return self.public_probe(health, env_vars) if health is not None else None

        return Rollout(
            health=health or Health(),
            public_check=public_check,
            services=services,
            env=dict(stage.env),
            drain_s=stage.drain_s,
            say=self.say,
            line=self.log.line,
        )

    def docker_host(self) -> DockerHost:
        """The Docker host, choosing images by the config's aliases (said in this job's log)."""
        return DockerHost(aliases=self.ctx.run.config.model.images.aliases, say=self.say)

    async def docker_activate(
        self, env: Environment, release: Release, ref: str, digest: str, container_port: int
    ) -> Step:
        """Start ``ref`` beside the live release, check it, switch, drain, stop the old one."""
        host = await anyio.to_thread.run_sync(self.docker_host)
        try:
            return await activate(
                host,
                env,
                release,
                ref=ref,
                digest=digest,
                container_port=container_port,
                rollout=self.rollout(),
            )
        finally:
            await anyio.to_thread.run_sync(host.close)

    # -- command target -----------------------------------------------------------

    async def run_command(self, argv: tuple[str, ...], env_vars: dict[str, str]) -> tuple[bool, str]:
        secrets = resolve(self.stage.secrets)
        self.ctx.run.redactor.add(secrets.values())
        self.say(f"$ {' '.join(argv)}  (IMAGE={env_vars['IMAGE']} DIGEST={env_vars['DIGEST']})")
        return await run_command(
            argv,
            {**self.stage.env, **secrets, **env_vars},
            cwd=str(self.ctx.run.config.base_dir),
            timeout_s=self.stage.timeout_s or 3600,
            log=self.log,
        )

    async def command_activate(self, argv: tuple[str, ...], env_vars: dict[str, str]) -> Step:
        ok, why = await self.run_command(argv, env_vars)
        if not ok:
            return Step(False, why)
        probe = self.public_probe(self.stage.health, env_vars) if self.stage.health else None
        if probe is not None and self.stage.health is not None:
            ok, why, _ = await until_healthy(probe, self.stage.health, self.say)
            if not ok:
                return Step(False, f"health check failed ({why})")
        return Step(True, f"{argv[0]} deployed {env_vars['IMAGE_REF']}")

    # -- rollback ---------------------------------------------------------------

    async def roll_back(self, failed: Release) -> str | None:
        """Put the environment's last good release back; its id, or None if there is none."""
        good = self.store.current(self.stage.environment, excluding=failed.id)
        if good is None:
            self.say("no earlier good release to roll back to")
            return None
        self.say(f"rolling back {self.stage.environment} to {good.id} (commit {good.git_sha[:12]})")
        if good.target == "docker":
            env = self.environment(int(good.extra.get("port") or 0) or None)
            info = next(iter(good.images.values()))
            host = await anyio.to_thread.run_sync(self.docker_host)
            try:
                live = await anyio.to_thread.run_sync(host.upstream, env)
                wanted = good.container or ""
                if (
                    live
                    and live.split(":")[0] == wanted
                    and await anyio.to_thread.run_sync(host.running, wanted)
                ):
                    self.say(f"{wanted} is still live: nothing to switch")
                    step = Step(True, "still live")
                else:
                    port = int(good.extra.get("container_port") or self.stage.container_port)
                    step = await activate(
                        host,
                        env,
                        good,
                        ref=info["ref"],
                        digest=info.get("digest", ""),
                        container_port=port,
                        rollout=self.rollout(),
                    )
                    if step.ok and step.data:
                        self.store.save(replace(good, container=str(step.data["container"])))
            finally:
                await anyio.to_thread.run_sync(host.close)
        elif good.command:
            env_vars = command_env(self.stage.environment, good.images, good.git_sha)
            step = await self.command_activate(good.command, env_vars)
        else:
            step = Step(False, f"release {good.id} records no way to deploy it again")
        if not step.ok:
            self.say(f"rollback to {good.id} failed: {step.detail}")
            return None
        await self.tag_in_registry(good.images, good.git_sha)
        return good.id


async def run(ctx: JobContext) -> JobOutcome:
    with JobLog(ctx.log_path, ctx.run.redactor) as log:
        job = _Job(ctx, log)
        try:
            if job.stage.target == "check":
                return await _check(job)
            return await _deploy(job)
        except SlipwayError as exc:
            log.engine(str(exc))
            return JobOutcome(status=JobStatus.FAILED, detail=str(exc))


async def _deploy(job: _Job) -> JobOutcome:
    stage = job.stage
    images = await job.images()
    git_sha = job.sha
    if stage.promote_from:
        source = job.store.current(stage.promote_from)
        git_sha = source.git_sha if source else git_sha
    release = Release(
        id=new_id(),
        environment=stage.environment,
        target=stage.target,
        images=images,
        git_sha=git_sha,
        run_id=job.ctx.run.run_id,
        stage=stage.name,
        started=now(),
        command=tuple(stage.command or ()),
        extra={
            "port": stage.port,
            "container_port": stage.container_port,
            "promoted_from": stage.promote_from,
        },
    )
    job.store.save(release)
    info = next(iter(images.values()))
    if stage.target == "docker":
        if len(images) != 1:
            raise SlipwayError(
                f"stage {stage.name}: a docker deploy serves one image on its port; got {list(images)}"
            )
        step = await job.docker_activate(
            job.environment(), release, info["ref"], info.get("digest", ""), stage.container_port
        )
    else:
        if not stage.command:
            raise SlipwayError(f"stage {stage.name}: target command needs `command:`")
        env_vars = command_env(stage.environment, images, git_sha)
        step = await job.command_activate(tuple(stage.command), env_vars)
    return await _finish(job, release, step)


async def _finish(job: _Job, release: Release, step: Step) -> JobOutcome:
    data: dict[str, Any] = {
        "release": release.id,
        "environment": release.environment,
        "images": release.images,
    }
    data.update(step.data or {})
    if step.ok:
        data["registry_tags"] = await job.tag_in_registry(release.images, release.git_sha)
        done = job.store.finish(
            release,
            SUCCESS,
            step.detail,
            container=(step.data or {}).get("container"),
            extra={**release.extra, **(step.data or {})},
        )
        data["result"] = done.result
        return JobOutcome(status=JobStatus.SUCCESS, detail=step.detail, data=data)
    # A docker release that failed its check never got traffic: the live one is the rollback.
    back = job.store.current(release.environment, excluding=release.id)
    rolled = back.id if back and release.target == "docker" else None
    if release.target == "command":
        rolled = await job.roll_back(release)
    done = job.store.finish(
        release, FAILED, step.detail, rolled_back_to=rolled, extra={**release.extra, **(step.data or {})}
    )
    data.update(result=done.result, rolled_back_to=rolled)
    detail = f"{step.detail}; rolled back to {rolled}" if rolled else step.detail
    return JobOutcome(status=JobStatus.FAILED, detail=detail, data=data)


async def _check(job: _Job) -> JobOutcome:
    stage = job.stage
    live = job.store.current(stage.environment)
    if live is None:
        raise SlipwayError(f"nothing is live in {stage.environment} to check")
    if stage.health is None:
        raise SlipwayError(f"stage {stage.name}: target check needs `health:`")
    env_vars = command_env(job.stage.environment, live.images, live.git_sha)
    probe = job.public_probe(stage.health, env_vars)
    if probe is None:
        raise SlipwayError(f"stage {stage.name}: health needs `http:` or `command:`")
    ok, why, took = await until_healthy(probe, stage.health, job.say)
    data: dict[str, Any] = {"release": live.id, "environment": stage.environment, "check_s": round(took, 2)}
    if ok:
        job.store.save(replace(live, extra={**live.extra, "verified_by": stage.name, "verified_at": now()}))
        return JobOutcome(status=JobStatus.SUCCESS, detail=f"{live.id} is healthy ({why})", data=data)
    rolled = await job.roll_back(live)
    job.store.finish(live, FAILED, f"{stage.name}: {why}", rolled_back_to=rolled)
    data["rolled_back_to"] = rolled
    return JobOutcome(
        status=JobStatus.FAILED,
        detail=f"{live.id} failed {stage.name} ({why}); "
        + (f"rolled back to {rolled}" if rolled else "no rollback"),
        data=data,
    )
