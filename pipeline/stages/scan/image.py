"""The scanners' image: a small Dockerfile here, tagged by its content so it is
built once per machine (the engine's layer cache makes a rebuild a no-op)."""

from __future__ import annotations

import hashlib
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pipeline.model.spec import ImageBuild

DOCKERFILE = Path(__file__).with_name("Dockerfile")
IMAGE_REPO = "slipway/scanners"


def image_tag() -> str:
    digest = hashlib.sha256(DOCKERFILE.read_bytes()).hexdigest()[:12]
    return f"{IMAGE_REPO}:{digest}"


@contextmanager
def build_context(ca_bundle: Path | None) -> Iterator[ImageBuild]:
    """A temporary build context: the Dockerfile and the CA bundle (or an empty file)."""
    with tempfile.TemporaryDirectory(prefix="slipway-scanners-") as tmp:
        ctx = Path(tmp)
        shutil.copyfile(DOCKERFILE, ctx / "Dockerfile")
        if ca_bundle is not None and ca_bundle.is_file():
            shutil.copyfile(ca_bundle, ctx / "ca.crt")
        else:
            (ctx / "ca.crt").write_bytes(b"")
        yield ImageBuild(context=ctx, tags=(image_tag(),))
