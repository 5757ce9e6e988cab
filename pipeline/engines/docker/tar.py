"""Tar streams in and out of containers: how directories are copied (not bind-mounted).

Copying through ``put_archive`` / ``get_archive`` works the same with a remote
DOCKER_HOST, and a job cannot change the host's source tree. Include/exclude
patterns follow Dagger's (and .dockerignore's) meaning, so both engines copy the
same files: a pattern is matched against the whole path relative to the source,
``**`` spans directories, and a matching directory takes its contents with it.
"""

from __future__ import annotations

import os
import re
import tarfile
import tempfile
import time
from collections.abc import Iterable, Iterator
from functools import lru_cache
from pathlib import Path, PurePosixPath
from typing import IO

from pipeline.globs import glob_regex
from pipeline.model.spec import DirectoryMount


@lru_cache(maxsize=512)
def _pattern(glob: str) -> re.Pattern[str]:
    return glob_regex(glob.strip("/"))


def matches(rel: str, patterns: Iterable[str]) -> bool:
    """True when ``rel`` (posix, relative) or one of its parent directories matches."""
    parts = rel.split("/")
    prefixes = ["/".join(parts[: n + 1]) for n in range(len(parts))]
    return any(_pattern(p).fullmatch(prefix) for p in patterns for prefix in prefixes)


def selected_files(source: Path, include: Iterable[str], exclude: Iterable[str]) -> Iterator[str]:
    """Relative posix paths under ``source`` to copy, parents before children."""
    include, exclude = tuple(include), tuple(exclude)
    for root, dirs, files in os.walk(source):
        rel_root = Path(root).relative_to(source).as_posix()
        rel_root = "" if rel_root == "." else rel_root + "/"
        kept_dirs = []
        for d in sorted(dirs):
            rel = rel_root + d
            if exclude and matches(rel, exclude):
                continue
            # A symlink to a directory is copied as a link, never followed.
            if os.path.islink(os.path.join(root, d)):
                if not include or matches(rel, include):
                    yield rel
                continue
            kept_dirs.append(d)
            if not include or matches(rel, include) or _could_contain(rel, include):
                yield rel
        dirs[:] = kept_dirs
        for f in sorted(files):
            rel = rel_root + f
            if exclude and matches(rel, exclude):
                continue
            if include and not matches(rel, include):
                continue
            yield rel


def _could_contain(rel_dir: str, include: tuple[str, ...]) -> bool:
    """Whether an included path may lie under ``rel_dir`` (so its entry is needed)."""
    for pattern in include:
        head = pattern.strip("/").split("/")
        parts = rel_dir.split("/")
        if head[0] == "**":
            return True
        pairs = zip(head, parts, strict=False)
        if len(head) > len(parts) and all(_pattern(h).fullmatch(p) for h, p in pairs):
            return True
    return False


def _root_owned(info: tarfile.TarInfo) -> tarfile.TarInfo:
    # Host uids mean nothing in the container; Dagger's with_directory also gives root.
    info.uid = info.gid = 0
    info.uname = info.gname = "root"
    return info


def _add_parents(tar: tarfile.TarFile, dest: str) -> str:
    """Directory entries for ``dest`` and its parents; returns dest without the leading /."""
    parts = PurePosixPath(dest).parts[1:]
    for n in range(1, len(parts) + 1):
        info = tarfile.TarInfo("/".join(parts[:n]))
        info.type, info.mode, info.mtime = tarfile.DIRTYPE, 0o755, int(time.time())
        tar.addfile(_root_owned(info))
    return "/".join(parts)


def directory_tar(mount: DirectoryMount) -> IO[bytes]:
    """A tar (to extract at ``/``) of the selected files placed under ``mount.dest``.

    Spooled to a temporary file: a source tree can be larger than memory should hold.
    """
    out = tempfile.TemporaryFile()  # noqa: SIM115 - the caller closes it after put_archive
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        base = _add_parents(tar, mount.dest)
        for rel in selected_files(mount.source, mount.include, mount.exclude):
            name = f"{base}/{rel}" if base else rel
            tar.add(mount.source / rel, arcname=name, recursive=False, filter=_root_owned)
    out.seek(0)
    return out


def file_tar(source: Path, dest: str, mode: int | None = None) -> IO[bytes]:
    """A tar (to extract at ``/``) holding one host file at container path ``dest``."""
    out = tempfile.TemporaryFile()  # noqa: SIM115 - the caller closes it after put_archive
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        _add_parents(tar, str(PurePosixPath(dest).parent))
        info = _root_owned(tar.gettarinfo(source, arcname=dest.lstrip("/")))
        if mode is not None:
            info.mode = mode
        with source.open("rb") as fh:
            tar.addfile(info, fh)
    out.seek(0)
    return out


def extract_output(chunks: Iterable[bytes], container_path: str, output_dir: Path) -> Path:
    """Unpack a ``get_archive`` stream under ``output_dir``, mirroring the container path.

    ``/app/reports`` lands in ``output_dir/app/reports``; returns that host path.
    """
    target_parent = output_dir / PurePosixPath(container_path).parent.relative_to("/")
    target_parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryFile() as spool:
        for chunk in chunks:
            spool.write(chunk)
        spool.seek(0)
        with tarfile.open(fileobj=spool, mode="r") as tar:
            # The "data" filter refuses absolute paths, links out of the tree and devices.
            tar.extractall(target_parent, filter="data")
    return target_parent / PurePosixPath(container_path).name
