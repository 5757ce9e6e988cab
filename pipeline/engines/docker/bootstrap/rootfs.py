"""A Debian root file system as an image: debootstrap, slim it like debian:SUITE-slim, import.

``slipway/debian:SUITE`` is what every base builds FROM. Besides debootstrap's
minbase it gets what the official debian images set: the suite's ``-updates`` and
``-security`` sources (without them the images miss security fixes), apt's
docker-clean settings, dpkg excludes for docs, man pages and translations. Testing
suites (forky) need two things stable ones do not: bookworm's debootstrap has no
script for them (sid's serves), and their Release file can be past its Valid-Until
on the mirror, which apt refuses unless told otherwise; that setting lives in the
image because users' Dockerfiles run ``apt-get update`` FROM it.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import docker

from pipeline.engines.docker.errors import docker_errors
from pipeline.model.errors import EngineUnavailable, ImageBuildFailed

ROOTFS_REPOSITORY = "slipway/debian"
DEBOOTSTRAP_SCRIPTS = Path("/usr/share/debootstrap/scripts")
TESTING_SUITES = frozenset({"forky", "sid"})  # no -updates suite; Release may be expired

_APT_CONF = {
    "etc/apt/apt.conf.d/docker-clean": (
        'DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb '
        '/var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };\n'
        'APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb '
        '/var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };\n'
        'Dir::Cache::pkgcache "";\nDir::Cache::srcpkgcache "";\n'
    ),
    "etc/apt/apt.conf.d/docker-no-languages": 'Acquire::Languages "none";\n',
    "etc/apt/apt.conf.d/docker-gzip-indexes": 'Acquire::GzipIndexes "true";\n',
    "etc/apt/apt.conf.d/docker-autoremove-suggests": 'Apt::AutoRemove::SuggestsImportant "false";\n',
    "etc/dpkg/dpkg.cfg.d/docker": (
        "path-exclude /usr/share/doc/*\npath-include /usr/share/doc/*/copyright\n"
        "path-exclude /usr/share/man/*\npath-exclude /usr/share/groff/*\n"
        "path-exclude /usr/share/info/*\npath-exclude /usr/share/lintian/*\n"
        "path-exclude /usr/share/linda/*\npath-exclude /usr/share/locale/*\n"
    ),
}
_NO_VALID_UNTIL = ("etc/apt/apt.conf.d/99slipway-check-valid-until", 'Acquire::Check-Valid-Until "false";\n')
# What debootstrap unpacked before the excludes existed, and its caches.
_PRUNE = ("usr/share/man", "usr/share/info", "usr/share/locale", "usr/share/lintian", "var/lib/apt/lists")


def sources(suite: str, mirror: str, security_mirror: str) -> str:
    """deb822 sources: the suite (and its -updates when it has one), and its -security."""
    suites = suite if suite in TESTING_SUITES else f"{suite} {suite}-updates"
    keyring = "/usr/share/keyrings/debian-archive-keyring.gpg"
    return (
        f"Types: deb\nURIs: {mirror}\nSuites: {suites}\nComponents: main\nSigned-By: {keyring}\n\n"
        f"Types: deb\nURIs: {security_mirror}\nSuites: {suite}-security\nComponents: main\n"
        f"Signed-By: {keyring}\n"
    )


def config_files(suite: str) -> dict[str, str]:
    """The files written into the rootfs besides its sources (path relative to /)."""
    files = dict(_APT_CONF)
    if suite in TESTING_SUITES:
        files[_NO_VALID_UNTIL[0]] = _NO_VALID_UNTIL[1]
    return files


def recipe_digest(suite: str) -> str:
    """What the rootfs is made of (the mirror aside): a change here rebuilds what stands on it."""
    digest = hashlib.sha256(f"debootstrap --variant=minbase {suite}\0".encode())
    digest.update(sources(suite, "MIRROR", "SECURITY").encode())
    for name, text in sorted(config_files(suite).items()):
        digest.update(f"{name}\0{text}\0".encode())
    digest.update("\0".join(_PRUNE).encode())
    return digest.hexdigest()[:16]


def default_security_mirror(mirror: str) -> str:
    """deb.debian.org/debian -> deb.debian.org/debian-security (the same host's layout)."""
    base = mirror.rstrip("/")
    return f"{base.removesuffix('/debian')}/debian-security"


def debootstrap(suite: str, target: Path, mirror: str) -> None:
    """Unpack a minbase ``suite`` into ``target`` unless a finished one is already there."""
    if shutil.which("debootstrap") is None:
        raise EngineUnavailable(
            "debootstrap is not installed: apt-get install -y debootstrap "
            "(it builds the Debian base images when no registry is reachable)"
        )
    # debootstrap leaves /debootstrap behind only when it did not finish.
    if (target / "etc/debian_version").exists() and not (target / "debootstrap").exists():
        return
    if target.exists():
        shutil.rmtree(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    script = DEBOOTSTRAP_SCRIPTS / suite
    # An older debootstrap has no script for a newer testing suite: sid's serves it.
    argv = ["debootstrap", "--variant=minbase", suite, str(target), mirror]
    if not script.exists():
        argv.append(str(DEBOOTSTRAP_SCRIPTS / "sid"))
    proc = subprocess.run(argv, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        tail = "\n".join(proc.stdout.splitlines()[-15:] + proc.stderr.splitlines()[-15:])
        raise ImageBuildFailed(
            f"debootstrap {suite} from {mirror} failed (exit {proc.returncode}); "
            f"check the mirror (--mirror) and the network:\n{tail}"
        )


def configure(root: Path, suite: str, mirror: str, security_mirror: str) -> None:
    """Sources, apt and dpkg settings, and the docs and caches removed (idempotent)."""
    (root / "etc/apt/sources.list").unlink(missing_ok=True)
    files = {"etc/apt/sources.list.d/debian.sources": sources(suite, mirror, security_mirror)}
    for name, text in {**files, **config_files(suite)}.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    _prune_docs(root / "usr/share/doc")
    for name in _PRUNE:
        for child in (root / name).glob("*"):
            if child.is_dir() and not child.is_symlink():
                shutil.rmtree(child)
            else:
                child.unlink()
    for pattern in ("var/cache/apt/archives/*.deb", "var/cache/apt/*.bin", "var/log/*.log", "var/log/apt/*"):
        for path in root.glob(pattern):
            if path.is_file():
                path.unlink()


def _prune_docs(docs: Path) -> None:
    """What dpkg's excludes would have left: copyright files only."""
    # os.walk does not follow symlinks (docs link to other packages' docs); bottom-up, so
    # a folder is seen empty after its files went.
    for folder, dirs, files in os.walk(docs, topdown=False):
        here = Path(folder)
        for name in files:
            if name != "copyright":
                (here / name).unlink()
        for name in dirs:
            sub = here / name
            if sub.is_symlink():
                sub.unlink()
            elif not any(sub.iterdir()):
                sub.rmdir()


def import_rootfs(client: docker.DockerClient, root: Path, suite: str, labels: dict[str, str]) -> None:
    """``tar | docker import`` as slipway/debian:SUITE, with ``labels``."""
    changes = ['CMD ["bash"]', *(f"LABEL {k}={v}" for k, v in sorted(labels.items()))]
    with tempfile.TemporaryFile() as tarball:
        # GNU tar keeps device nodes, owners and xattrs exactly as debootstrap made them.
        subprocess.run(["tar", "--numeric-owner", "-C", str(root), "-c", "."], stdout=tarball, check=True)
        tarball.seek(0)
        with docker_errors(f"import {ROOTFS_REPOSITORY}:{suite}"):
            client.api.import_image(src=tarball, repository=ROOTFS_REPOSITORY, tag=suite, changes=changes)
