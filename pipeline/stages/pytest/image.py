"""The pre-baked test base image: tagged by a digest of its inputs, built at most once.

The tag is a hash of ``Dockerfile.test`` and the dependency files that key it
(lock files), so it changes exactly when the dependencies do. Before building,
the engine is asked whether it already has that tag (Docker: a local image);
all test groups of a run share one lookup-or-build (``RunState.test_image``).
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from pathlib import Path

from pipeline.config import Config
from pipeline.config.model import TestBaseImage
from pipeline.model.errors import ConfigError
from pipeline.model.spec import ImageBuild
from pipeline.stages.base import JobContext
from pipeline.stages.state import BuiltImage


@dataclass(frozen=True, slots=True)
class TestImage:
    __test__ = False  # not a pytest test class

    tag: str
    build: ImageBuild
    inputs: tuple[Path, ...]


def _settings(config: Config) -> TestBaseImage:
    settings = config.model.images.test_base
    if settings is None:
        raise ConfigError(
            f"{config.path}: images.test_base is not set: a pytest stage runs in the test base "
            "image; add images.test_base.dockerfile and key_files (the lock files)"
        )
    return settings


def test_image(config: Config) -> TestImage:
    """The tag and build of the project's test base image (reads the key files)."""
    settings = _settings(config)
    context = (config.base_dir / settings.context).resolve()
    dockerfile = context / settings.dockerfile
    inputs = [dockerfile, *((config.base_dir / f).resolve() for f in settings.key_files)]
    digest = hashlib.sha256()
    for i, path in enumerate(inputs):
        try:
            data = path.read_bytes()
        except OSError:
            key = (
                ("images", "test_base", "dockerfile")
                if i == 0
                else ("images", "test_base", "key_files", i - 1)
            )
            raise ConfigError(
                f"{config.loaded.where_value(key)}: {path} cannot be read; "
                "images.test_base must name files that exist"
            ) from None
        # Name and content, so moving a lock file is a change too.
        digest.update(str(path.relative_to(config.base_dir)).encode() + b"\0")
        digest.update(hashlib.sha256(data).digest())
    tag = f"slipway-test/{config.model.project.name}:{digest.hexdigest()[:16]}"
    build = ImageBuild(context=context, dockerfile=str(dockerfile.relative_to(context)), tags=(tag,))
    return TestImage(tag=tag, build=build, inputs=tuple(inputs))


async def ensure_test_image(ctx: JobContext) -> str:
    """The reference of the test base image, looked up first and built only if missing.

    All groups of a run share one lookup-or-build (``RunState.test_image``). Raises
    the engine's error if the build fails (the caller turns it into a failed job).
    """
    image = await ctx.run.state.test_image.get(lambda: _look_up_or_build(ctx))
    return image.ref


async def _look_up_or_build(ctx: JobContext) -> BuiltImage:
    image = test_image(ctx.run.config)
    engine = ctx.run.engine
    log = ctx.run.report_dir / "logs" / "test-base-image.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    # Dagger answers None (its own cache makes a repeated build of the same inputs instant).
    found = await engine.image_digest(image.tag)
    if found:
        log.write_text(f"{image.tag} present ({found}), reused: dependencies unchanged\n")
        return BuiltImage(ref=image.tag)
    with log.open("a") as fh:
        fh.write(f"{image.tag} not found: building {image.build.dockerfile}\n")
    start = time.monotonic()
    ref = await engine.build_image(image.build, log_path=log)
    return BuiltImage(ref=ref, build_s=round(time.monotonic() - start, 1))


def build_info(ctx: JobContext) -> dict[str, object]:
    """For the report: which image the tests ran in, and whether this run built it."""
    image = ctx.run.state.test_image.peek()
    seconds = image.build_s if image else None
    return {"tag": image.ref if image else None, "built": seconds is not None, "build_s": seconds}
