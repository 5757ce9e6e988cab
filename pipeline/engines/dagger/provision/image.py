"""The engine image: the binaries on the bootstrapped Debian base (``image/Dockerfile``).

The context is the Dockerfile and entrypoint shipped with Slipway, the binaries
(hard-linked from the build), and the runner's own CA certificates (the engine installs
them into every container it runs, so pip and npm work behind an intercepting proxy).
The image is labelled with a digest of its context and rebuilt only when that changes.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

from pipeline.engines.dagger.provision.layout import BASE_IMAGE, LABEL_CONTEXT_HASH, Layout
from pipeline.engines.dagger.provision.pins import BINARIES, Pins
from pipeline.engines.dagger.provision.proc import ProvisionError, Steps

IMAGE_FILES = Path(__file__).with_name("image")
HOST_CA_DIR = Path("/usr/local/share/ca-certificates")


def write_context(layout: Layout, ca_dir: Path = HOST_CA_DIR) -> str:
    """The build context under ``layout.image_context``; returns its digest."""
    ctx = layout.image_context
    if ctx.exists():
        shutil.rmtree(ctx)
    (ctx / "bin").mkdir(parents=True)
    (ctx / "ca").mkdir()
    for name in BINARIES:
        src, dest = layout.bin / name, ctx / "bin" / name
        try:
            os.link(src, dest)
        except OSError:  # another file system: copy
            shutil.copy2(src, dest)
    for name in ("Dockerfile", "dagger-entrypoint.sh", "engine.toml"):
        shutil.copyfile(IMAGE_FILES / name, ctx / name)
    for cert in sorted(ca_dir.glob("*.crt")) if ca_dir.is_dir() else []:
        shutil.copyfile(cert, ctx / "ca" / cert.name)
    return context_digest(ctx, layout.stamp.read_text())


def context_digest(ctx: Path, stamp: str) -> str:
    """The binaries are named by their build stamp (hashing 250 MB would take seconds);
    every other file by its content."""
    digest = hashlib.sha256(stamp.encode())
    for path in sorted(p for p in ctx.rglob("*") if p.is_file() and p.parent.name != "bin"):
        digest.update(str(path.relative_to(ctx)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def image_label(ref: str, label: str) -> str | None:
    """A label of a local image, None when the image is missing."""
    try:
        proc = subprocess.run(
            ["docker", "image", "inspect", "-f", f'{{{{index .Config.Labels "{label}"}}}}', ref],
            capture_output=True,
            text=True,
            check=False,
        )
    except FileNotFoundError:  # no docker CLI: doctor says so, it must not crash on it
        return None
    return proc.stdout.strip() if proc.returncode == 0 else None


def image_exists(ref: str) -> bool:
    return image_label(ref, "org.opencontainers.image.version") is not None


def build_image(steps: Steps, layout: Layout, pins: Pins, *, force: bool = False) -> None:
    """``layout.image`` from the binaries; skipped when its context is unchanged."""
    if not image_exists(BASE_IMAGE):
        raise ProvisionError(
            f"the engine image builds on {BASE_IMAGE}, which is not here: "
            "run `python -m pipeline images bootstrap` first (scripts/setup-machine does)"
        )
    digest = write_context(layout)
    if not force and image_label(layout.image, LABEL_CONTEXT_HASH) == digest:
        steps.skip(f"{layout.image} is up to date (context {digest})")
        return
    steps.run(
        [
            "docker",
            "build",
            "-q",
            "--build-arg",
            f"BASE_IMAGE={BASE_IMAGE}",
            "--build-arg",
            f"VERSION={pins.dagger}",
            "--label",
            f"{LABEL_CONTEXT_HASH}={digest}",
            "-t",
            layout.image,
            str(layout.image_context),
        ]
    )
