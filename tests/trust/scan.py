"""Secrets in everything a run leaves (issue 11, item 6): a green run and a failing
one with a secret-valued ``secrets:`` entry and a secret-valued ``env:``, then the
value searched for in stdout/stderr, every file of the report directory (logs,
report.json, summary, JUnit, artifacts, inside their archives), the cache store
(entry names = cache keys, and every blob, decompressed), and the history, labels
and environment of every image the run made.

    PYTHONPATH=tests .venv/bin/python -m trust.scan
"""

from __future__ import annotations

import gzip
import io
import sys
import tarfile
import tempfile
from pathlib import Path

from trust.common import PIPELINE, SECRET_VALUE, client, make_project, run

FAILING = PIPELINE + """\
  - name: leaky-failure
    kind: command
    image: python:3.11-slim
    secrets: [TRUST_TOKEN]
    commands:
      - [python, -c, "import os,sys; print(os.environ['TRUST_TOKEN'], file=sys.stderr); raise SystemExit(4)"]
"""


def _payloads(data: bytes, name: str) -> list[tuple[str, bytes]]:
    """The bytes, and what gzip and tar wrap inside them."""
    out = [(name, data)]
    if data[:2] == b"\x1f\x8b":
        try:
            inner = gzip.decompress(data)
        except (OSError, EOFError):
            return out
        out += _payloads(inner, name + "!gunzip")
    elif len(data) > 262 and data[257:262] == b"ustar":
        try:
            with tarfile.open(fileobj=io.BytesIO(data)) as tar:
                for member in tar.getmembers():
                    f = tar.extractfile(member) if member.isfile() else None
                    if f is not None:
                        out += _payloads(f.read(), f"{name}!{member.name}")
        except tarfile.TarError:
            pass
    return out


def find_in_tree(root: Path, needle: bytes) -> tuple[int, list[str]]:
    """(files looked at, where ``needle`` was found) under ``root``, names included."""
    seen, found = 0, []
    for path in sorted(root.rglob("*")):
        if needle in str(path).encode():
            found.append(f"{path} (its name)")
        if not path.is_file() or path.is_symlink():
            continue
        seen += 1
        for where, data in _payloads(path.read_bytes(), str(path)):
            if needle in data:
                found.append(where)
    return seen, found


def find_in_images(run_ids: list[str], needle: str) -> tuple[int, list[str]]:
    """Images labelled with one of the runs, and images the run's jobs used: their
    history (every layer's command), labels, environment and entrypoint."""
    c = client()
    seen, found = 0, []
    images = [i for i in c.images.list() if any(r in str(i.labels) for r in run_ids)]
    for image in images:
        seen += 1
        attrs = str(image.attrs) + str(image.history())
        if needle in attrs:
            found.append(f"image {image.tags or image.id}")
    return seen, found


def scan(workdir: Path) -> dict[str, tuple[int, list[str]]]:
    results: dict[str, tuple[int, list[str]]] = {}
    needle = SECRET_VALUE.encode()
    for name, text, expect in (("green", PIPELINE, 0), ("failing", FAILING, 1)):
        project = make_project(workdir / name, text)
        res = run(project, "out")
        if res.code != expect:
            raise SystemExit(f"{name} run: exit {res.code}, expected {expect}: {res.err[-500:]}")
        streams = [f"{name} stdout/stderr"] if needle.decode() in res.out + res.err else []
        results[f"{name}: stdout and stderr"] = (2, streams)
        results[f"{name}: report dir"] = find_in_tree(project / "out", needle)
        results[f"{name}: cache store and keys"] = find_in_tree(project / ".cache-store", needle)
        results[f"{name}: project dir (.slipway)"] = find_in_tree(project / "app", needle)
        run_id = (res.report or {}).get("run_id", "")
        results[f"{name}: images of the run"] = find_in_images([run_id], needle.decode())
    return results


def main(argv: list[str] | None = None) -> int:
    results = scan(Path(tempfile.mkdtemp(prefix="slipway-scan-")))
    total = sum(len(found) for _, found in results.values())
    looked = sum(n for n, _ in results.values())
    for what, (n, found) in results.items():
        print(f"  {what}: {n} looked at, {len(found)} with the secret")
        for f in found:
            print(f"    FOUND {f}")
    print(f"RESULT secrets looked_at={looked} found={total}")
    return 0 if total == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
