"""The secrets scan can fail: a value planted in a log, in a name, or inside a
tar.gz blob (how the cache stores artifacts) is found."""

from __future__ import annotations

import gzip
import io
import tarfile
from pathlib import Path

from trust.scan import find_in_tree

NEEDLE = b"planted-" + b"value-77"


def test_finds_the_value_in_files_names_and_archives(tmp_path: Path) -> None:
    (tmp_path / "clean.log").write_text("nothing here\n")
    (tmp_path / "job.log").write_bytes(b"token is " + NEEDLE + b"\n")
    (tmp_path / ("key-" + NEEDLE.decode())).mkdir()
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        info = tarfile.TarInfo("out/r.txt")
        info.size = len(NEEDLE)
        tar.addfile(info, io.BytesIO(NEEDLE))
    (tmp_path / "blob.tar.gz").write_bytes(gzip.compress(buf.getvalue()))
    seen, found = find_in_tree(tmp_path, NEEDLE)
    assert seen == 3
    assert sorted({Path(f.split("!")[0].split(" (")[0]).name for f in found}) == [
        "blob.tar.gz", "job.log", "key-" + NEEDLE.decode(),
    ]
    assert any(f.endswith("!gunzip!out/r.txt") for f in found)


def test_clean_tree_finds_nothing(tmp_path: Path) -> None:
    (tmp_path / "a.log").write_text("token is ***\n")
    assert find_in_tree(tmp_path, NEEDLE) == (1, [])
