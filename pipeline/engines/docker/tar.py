"""Tar streams in and out of containers: how directories are copied (not bind-mounted).

Copying through ``put_archive`` / ``get_archive`` works the same with a remote
DOCKER_HOST, and a job cannot change the host's source tree. Include/exclude
patterns follow Dagger's (and .dockerignore's) meaning, so both engines copy the
same files: a pattern is matched against the whole path relative to the source,
``**`` spans directories, and a matching directory takes its contents with it.
"""

from __future__ import annotations

import os
import shutil
import tarfile
import tempfile
import time
from collections.abc import Iterable, Iterator
from pathlib import Path, PurePosixPath
from typing import IO

from pipeline.model.disk import reason
from pipeline.model.errors import EngineJobError
from pipeline.model.paths import Selection
from pipeline.model.spec import DirectoryMount


def selected_files(source: Path, include: Iterable[str], exclude: Iterable[str]) -> Iterator[str]:
    """Relative posix paths under ``source`` to copy, parents before children.

    An excluded directory is not entered. With ``include``, a directory is copied
    when it matches or holds something that does (as the parent of that entry).
    """
    selection = Selection(include=tuple(include), exclude=tuple(exclude))
    given: set[str] = set()

    def with_parents(rel: str) -> Iterator[str]:
        parts = rel.split("/")
        for n in range(1, len(parts) + 1):
            path = "/".join(parts[:n])
            if path not in given:
                given.add(path)
                yield path

    for root, dirs, files in os.walk(source):
        rel_root = Path(root).relative_to(source).as_posix()
        rel_root = "" if rel_root == "." else rel_root + "/"
        kept_dirs = []
        entries = []
        for d in sorted(dirs):
            rel = rel_root + d
            if selection.excluded(rel):
                continue
            # A symlink to a directory is copied as a link, never followed.
            if os.path.islink(os.path.join(root, d)):
                entries.append(rel)
                continue
            kept_dirs.append(d)
            if selection.included(rel):
                entries.append(rel)
        dirs[:] = kept_dirs
        entries += [rel_root + f for f in sorted(files) if selection.selects(rel_root + f)]
        for rel in entries:
            if selection.included(rel):
                yield from with_parents(rel)


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

    ``/app/reports`` lands in ``output_dir/app/reports``; returns that host path. One
    that cannot be written whole (a full disk) is removed, not left half-written, and
    the job fails naming the path and why.
    """
    target_parent = output_dir / PurePosixPath(container_path).parent.relative_to("/")
    target = target_parent / PurePosixPath(container_path).name
    try:
        target_parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile() as spool:
            for chunk in chunks:
                spool.write(chunk)
            spool.seek(0)
            with tarfile.open(fileobj=spool, mode="r") as tar:
                # The "data" filter refuses absolute paths, links out of the tree and devices.
                tar.extractall(target_parent, filter="data")
    except OSError as exc:
        why = reason(exc, target_parent)  # the free space it met, before the part is removed
        _remove(target)
        raise EngineJobError(
            f"output {container_path} could not be exported to {target}: {why}; nothing of it was kept"
        ) from exc
    return target


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)
