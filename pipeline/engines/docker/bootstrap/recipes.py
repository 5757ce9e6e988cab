"""How each base is built: its Dockerfile (a file beside this module), build arguments,
the files of its context, the digest that says when it must be rebuilt, and how its
exact version is read back.

The Dockerfiles take the suite and version as build arguments, so one file serves
every version of a family. After a build the image is run once to read the exact
version it got (forky moves; stable suites take point releases), and a one-line
build on top sets it as the official images do (``PYTHON_VERSION``, ``PG_VERSION``,
``NODE_VERSION``) along with Slipway's labels.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from pipeline.engines.docker.bootstrap import rootfs
from pipeline.model.bases import Base

FILES = Path(__file__).with_name("files")

LABEL_BOOTSTRAP = "dev.slipway.bootstrap"  # "rootfs" or "base"
LABEL_RECIPE = "dev.slipway.recipe"  # digest of what the image is made of
LABEL_VERSION = "dev.slipway.version"  # the exact upstream version inside
LABEL_PACKAGE = "dev.slipway.debian-package"  # Debian's package and its version
LABEL_SUITE = "dev.slipway.suite"
LABEL_MIRROR = "dev.slipway.mirror"

# Bump when the stamping below changes what an image carries.
_STAMP_FORMAT = "1"


@dataclass(frozen=True, slots=True)
class Recipe:
    """Everything that goes into one base's ``docker build``."""

    base: Base
    dockerfile: str  # file name under files/
    args: tuple[tuple[str, str], ...]
    extra_files: tuple[str, ...]  # more files of files/ in the build context
    package: str  # the Debian package whose version is the image's
    version_command: str  # prints the upstream version, inside the image
    version_env: str  # the official image's variable for it

    def context_files(self) -> dict[str, tuple[bytes, int]]:
        """name -> (content, mode) of the build context, the CA bundle aside."""
        names = (self.dockerfile, *self.extra_files)
        files = {"Dockerfile": ((FILES / self.dockerfile).read_bytes(), 0o644)}
        for name in names[1:]:
            path = FILES / name
            files[name] = (path.read_bytes(), 0o755 if name.endswith(".sh") else 0o644)
        return files

    def digest(self) -> str:
        """Changes whenever the image would come out different (the CA bundle and the
        mirror aside): its Dockerfile, files, arguments, and the rootfs under it."""
        digest = hashlib.sha256(f"{_STAMP_FORMAT}\0{rootfs.recipe_digest(self.base.suite)}\0".encode())
        for name, (content, mode) in sorted(self.context_files().items()):
            digest.update(f"{name}\0{mode}\0".encode() + hashlib.sha256(content).digest())
        for key, value in self.args:
            digest.update(f"{key}={value}\0".encode())
        digest.update(f"{self.package}\0{self.version_command}\0{self.version_env}".encode())
        return digest.hexdigest()[:16]

    def probe_command(self) -> list[str]:
        """Prints two lines inside the image: the upstream version, the package's version."""
        return [
            "sh",
            "-c",
            f"{self.version_command} && dpkg-query -W -f='${{Version}}\\n' {self.package}",
        ]


def recipe_for(base: Base) -> Recipe:
    if base.family == "python":
        extra = "setuptools wheel" if base.version == "3.11" else ""
        return Recipe(
            base=base,
            dockerfile="python.Dockerfile",
            args=(("SUITE", base.suite), ("PY", base.version), ("PIP_EXTRA", extra)),
            extra_files=(),
            package=f"python{base.version}",
            version_command="python3 -c 'import platform; print(platform.python_version())'",
            version_env="PYTHON_VERSION",
        )
    if base.family == "postgres":
        major = int(base.version)
        # 18+: data in /var/lib/postgresql/MAJOR/docker, as the official 18 image.
        pgdata = f"/var/lib/postgresql/{major}/docker" if major >= 18 else "/var/lib/postgresql/data"
        return Recipe(
            base=base,
            dockerfile="postgres.Dockerfile",
            args=(("SUITE", base.suite), ("PG_MAJOR", base.version), ("PGDATA_DIR", pgdata)),
            extra_files=("docker-entrypoint.sh",),
            package=f"postgresql-{base.version}",
            version_command="postgres --version | sed -E 's/^[^0-9]*([0-9.]+).*/\\1/'",
            version_env="PG_VERSION",
        )
    if base.family == "node":
        return Recipe(
            base=base,
            dockerfile="node.Dockerfile",
            args=(("SUITE", base.suite),),
            extra_files=(),
            package="nodejs",
            version_command="node --version | sed 's/^v//'",
            version_env="NODE_VERSION",
        )
    raise ValueError(f"no recipe for {base.family}")


def stamp_dockerfile(built_id: str, recipe: Recipe, version: str, package_version: str) -> str:
    """The one-line build on top: the exact version as the official image names it."""
    # The official postgres image's PG_VERSION is its package's version; python's and
    # node's are the upstream version.
    value = package_version if recipe.version_env == "PG_VERSION" else version
    return f"FROM {built_id}\nENV {recipe.version_env}={value}\n"
