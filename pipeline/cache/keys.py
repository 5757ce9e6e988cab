"""Cache keys: a sha256 of everything that decides a job's result, and nothing else.

A key covers the spec's result-deciding parts (image digest, commands, env names and
values, secret *names*, services, outputs), the content of the job's input files,
and Slipway's version. File times, host paths, cache volumes and resource limits are
left out: they change between runners without changing what a job produces.
Secret values never reach this module; a secret's name used as an env key is refused.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import stat
from collections.abc import Collection, Iterable, Mapping, Sequence
from pathlib import Path, PurePath
from typing import Any

from pipeline.model.errors import SlipwayError
from pipeline.model.paths import EXCLUDED_DIRS, Selection
from pipeline.model.spec import ContainerSpec, Image, ImageBuild, ImageRef

KEY_FORMAT = 1
_CHUNK = 1 << 20


class SecretInKeyError(SlipwayError):
    """A secret's name appears as an env key in what would be hashed into a cache key."""


# -- canonical JSON ------------------------------------------------------------------


def _canonical(value: object) -> Any:
    """Plain JSON values, with mappings sorted and tuples/sets as lists, or TypeError."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            raise TypeError("NaN and infinities have no canonical JSON form")
        return value
    if isinstance(value, PurePath):
        return value.as_posix()
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise TypeError(f"fingerprint keys must be strings, not {k!r}")
            out[k] = _canonical(v)
        return out
    if isinstance(value, set | frozenset):
        return sorted(_canonical(v) for v in value)
    if isinstance(value, list | tuple):
        return [_canonical(v) for v in value]
    raise TypeError(f"cannot put a {type(value).__name__} into a cache key: {value!r}")


def canonical_json(value: object) -> str:
    """One JSON text per value: sorted keys, no whitespace, so equal values hash equal."""
    return json.dumps(_canonical(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _env_keys(env: object) -> Iterable[str]:
    if isinstance(env, Mapping):
        yield from (str(k) for k in env)
    elif isinstance(env, list | tuple):
        for item in env:
            if isinstance(item, list | tuple) and item:
                yield str(item[0])


def _check_no_secrets(value: object, secret_names: Collection[str], where: str = "") -> None:
    """Refuse any ``env`` (at any depth: services have one too) that names a secret."""
    if isinstance(value, Mapping):
        for k, v in value.items():
            path = f"{where}.{k}" if where else str(k)
            if k == "env":
                leaked = sorted(set(_env_keys(v)).intersection(secret_names))
                if leaked:
                    raise SecretInKeyError(
                        f"{path} sets {', '.join(leaked)}, which is a secret: pass it as a "
                        "secret (by name), never as env, so its value stays out of cache keys"
                    )
            _check_no_secrets(v, secret_names, path)
    elif isinstance(value, list | tuple):
        for i, v in enumerate(value):
            _check_no_secrets(v, secret_names, f"{where}[{i}]")


# -- input files ---------------------------------------------------------------------


def _hash_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def input_files(
    globs: Sequence[str], root: Path, *, ignored_dirs: Collection[str] = EXCLUDED_DIRS
) -> dict[str, str]:
    """``{relative path: content digest}`` for the files under ``root`` the globs match.

    Globs are relative to ``root`` (``pipeline.model.paths``' dialect); ``!`` excludes.
    The digest also says whether the file is executable (a script that lost its
    ``+x`` fails differently) and, for a symlink to nowhere, where it points.
    """
    matcher = Selection.from_globs(globs)
    found: dict[str, str] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in ignored_dirs)
        rel_dir = Path(dirpath).relative_to(root).as_posix()
        prefix = "" if rel_dir == "." else rel_dir + "/"
        links = [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]
        for name in [*filenames, *links]:
            rel = prefix + name
            if not matcher.selects(rel):
                continue
            path = Path(dirpath, name)
            try:
                st = path.stat()
            except FileNotFoundError:
                # A dangling symlink: its target text is all there is to compare.
                found[rel] = "link:" + os.readlink(path)
                continue
            if stat.S_ISDIR(st.st_mode):
                found[rel] = "link:" + os.readlink(path)  # walked links would loop
            elif stat.S_ISREG(st.st_mode):
                mode = "x" if st.st_mode & 0o111 else "-"
                found[rel] = f"{mode}{_hash_file(path)}"
    return dict(sorted(found.items()))


def files_digest(globs: Sequence[str], root: Path, *, ignored_dirs: Collection[str] = EXCLUDED_DIRS) -> str:
    """One sha256 over the matched files' paths and contents (lock files, sources)."""
    manifest = input_files(globs, root, ignored_dirs=ignored_dirs)
    return hashlib.sha256(canonical_json(manifest).encode()).hexdigest()


# -- job keys ------------------------------------------------------------------------


def job_key(
    spec_fingerprint: Mapping[str, object],
    input_globs: Sequence[str],
    root: Path,
    *,
    version: str,
    secret_names: Collection[str] = (),
    ignored_dirs: Collection[str] = EXCLUDED_DIRS,
    inputs: Mapping[str, str] | None = None,
) -> str:
    """The cache key of a job: sha256 hex of its fingerprint, inputs and Slipway version.

    ``inputs``, when given, is the ``input_files(input_globs, root)`` manifest the caller
    took earlier (e.g. before the job ran, so an edit made meanwhile cannot be stored
    under the new content's key); the files are then not read again.
    Raises ``SecretInKeyError`` if any ``env`` in the fingerprint names a secret, and
    TypeError if the fingerprint holds something that is not plain data.
    """
    _check_no_secrets(spec_fingerprint, frozenset(secret_names))
    manifest = inputs if inputs is not None else input_files(input_globs, root, ignored_dirs=ignored_dirs)
    document = {
        "format": KEY_FORMAT,
        "slipway": version,
        "spec": spec_fingerprint,
        "inputs": dict(sorted(manifest.items())),
    }
    return hashlib.sha256(canonical_json(document).encode()).hexdigest()


def _file_digest(path: Path) -> str:
    try:
        return _hash_file(path)
    except FileNotFoundError:
        return "missing"


def _image_fingerprint(image: Image, digest: str | None) -> dict[str, object]:
    if digest:
        return {"digest": digest}
    if isinstance(image, ImageRef):
        # A tag can move; callers should pass the digest they resolved whenever they can.
        return {"ref": image.ref}
    assert isinstance(image, ImageBuild)
    # The context's content is covered by the job's input globs, not by its host path.
    return {"dockerfile": image.dockerfile, "target": image.target, "args": image.args}


def spec_fingerprint(
    spec: ContainerSpec,
    *,
    image_digest: str | None = None,
    service_digests: Mapping[str, str] | None = None,
) -> dict[str, object]:
    """The parts of a spec that decide its result, as plain data for ``job_key``.

    Host paths (directory sources), cache volumes and limits are left out on purpose:
    they differ between runners and do not change what the job produces.
    """
    digests = service_digests or {}
    return {
        "image": _image_fingerprint(spec.image, image_digest),
        "commands": spec.commands,
        "env": dict(spec.env),
        "secrets": sorted(spec.secrets),
        "workdir": spec.workdir,
        "user": spec.user,
        "outputs": spec.outputs,
        "directories": [
            {"dest": d.dest, "include": d.include, "exclude": d.exclude} for d in spec.directories
        ],
        # Single files (a CA bundle, the injected pytest plugin) by content, not host path.
        "files": {f.dest: _file_digest(f.source) for f in spec.files},
        "services": [
            {
                "name": s.name,
                "image": _image_fingerprint(s.image, digests.get(s.name)),
                "env": dict(s.env),
                "port": s.port,
                "command": s.command,
            }
            for s in sorted(spec.services, key=lambda s: s.name)
        ],
    }
