"""Packing a job's artifacts into one deterministic tar.gz, and unpacking it safely.

Deterministic (sorted names, zeroed times and owners, no gzip timestamp) so two
runners that produce the same artifacts write byte-identical blobs: a race on one
key then replaces a blob with itself.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import tarfile
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

# Job artifacts are small and compress well; volume archives are large and full of
# already-compressed wheels and tarballs, where higher levels only cost time.
COMPRESS_LEVEL = 3
_CHUNK = 1 << 20


class ArchiveError(Exception):
    """An archive could not be packed or unpacked (a bad name, a broken tar)."""


@dataclass(frozen=True, slots=True)
class Packed:
    """A packed blob on local disk, with what an index needs to vouch for it."""

    path: Path
    sha256: str
    size: int
    names: tuple[str, ...]


def check_member_name(name: str) -> str:
    """A relative POSIX path that stays inside the archive, or ArchiveError."""
    path = PurePosixPath(name)
    if not name or path.is_absolute() or ".." in path.parts or name != path.as_posix():
        raise ArchiveError(f"artifact name {name!r} must be a plain relative path")
    return name


def sha256_file(path: Path) -> tuple[str, int]:
    """The sha256 hex digest and the size of a file, read in chunks."""
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def _normalize(info: tarfile.TarInfo) -> tarfile.TarInfo:
    info.mtime = 0
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    # Keep the executable bit (a restored script must still run), drop the rest.
    info.mode = 0o755 if info.isdir() or info.mode & 0o111 else 0o644
    return info


def pack(files: Mapping[str, Path], scratch: Path) -> Packed:
    """Pack ``{name in archive: local path}`` into a new temp file under ``scratch``."""
    names = tuple(sorted(check_member_name(n) for n in files))
    scratch.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-pack-", suffix=".tar.gz", dir=scratch)
    path = Path(tmp)
    try:
        with (
            os.fdopen(fd, "wb") as raw,
            gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=COMPRESS_LEVEL) as gz,
            tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as tar,
        ):
            for name in names:
                # tarfile.add recurses into directories in sorted order.
                tar.add(files[name], arcname=name, filter=_normalize)
        sha, size = sha256_file(path)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return Packed(path=path, sha256=sha, size=size, names=names)


def unpack(blob: Path, dest: Path, names: tuple[str, ...]) -> dict[str, Path]:
    """Extract ``blob`` into ``dest``; returns ``{name: extracted path}`` for ``names``.

    The ``data`` filter refuses absolute paths, links out of ``dest`` and device files,
    so a tampered blob in a shared bucket cannot write outside ``dest``.
    """
    dest.mkdir(parents=True, exist_ok=True)
    try:
        with tarfile.open(blob, mode="r:gz") as tar:
            tar.extractall(dest, filter="data")
    except (tarfile.TarError, EOFError, OSError, gzip.BadGzipFile) as exc:
        raise ArchiveError(f"cannot unpack {blob}: {exc}") from exc
    return {name: dest / name for name in names}
