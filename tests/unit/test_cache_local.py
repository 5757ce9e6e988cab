"""The local store: roundtrip, integrity, concurrency, pruning, best-effort failures."""

from __future__ import annotations

import io
import logging
import os
import subprocess
import sys
import tarfile
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from pipeline.cache import InvalidKey, LocalStore, Store, durations_name, load_json, save_json
from pipeline.cache.archive import sha256_file
from pipeline.cache.entries import ORPHAN_GRACE
from pipeline.cache.store import Entry
from pipeline.commands.cache import ls, parse_duration, parse_size, prune
from pipeline.model.errors import UsageError

pytestmark = pytest.mark.unit
KEY = "a" * 64


@pytest.fixture
def store(tmp_path: Path) -> LocalStore:
    return LocalStore(tmp_path / "cache")


@pytest.fixture
def artifacts(tmp_path: Path) -> dict[str, Path]:
    out = tmp_path / "out"
    (out / "htmlcov").mkdir(parents=True)
    (out / "junit.xml").write_text('<testsuite tests="3" failures="0"/>')
    (out / "log.txt").write_text("3 passed\n")
    (out / "htmlcov" / "index.html").write_text("<html/>")
    return {
        "junit.xml": out / "junit.xml",
        "log.txt": out / "log.txt",
        "htmlcov": out / "htmlcov",
    }


def cache_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage() for r in caplog.records if r.name == "pipeline.cache" and r.levelno >= logging.WARNING
    ]


def backdate(store: LocalStore, key: str, age: timedelta) -> None:
    """Make an entry look last used ``age`` ago (what an old runner would have left)."""
    when = time.time() - age.total_seconds()
    entry_dir = store.root / "entries" / key
    for name in ("index.json", "last-used"):
        os.utime(entry_dir / name, (when, when))


def put(store: Store, key: str, content: str, tmp_path: Path, job: str = "unit") -> None:
    src = tmp_path / f"src-{uuid.uuid4().hex}.txt"
    src.write_text(content)
    assert store.put(key, {"log.txt": src}, {"job": job})


def test_is_a_store(store: LocalStore) -> None:
    assert isinstance(store, Store)


def test_roundtrip(store: LocalStore, artifacts: dict[str, Path], tmp_path: Path) -> None:
    meta = {"job": "tests: unit", "tests": {"passed": 3, "failed": 0}}
    assert store.put(KEY, artifacts, meta)
    entry = store.get(KEY)
    assert entry is not None
    assert entry.meta == meta
    assert entry.names == ("htmlcov", "junit.xml", "log.txt")
    files = entry.extract(tmp_path / "restored")
    assert files is not None
    assert files["junit.xml"].read_text() == '<testsuite tests="3" failures="0"/>'
    assert (files["htmlcov"] / "index.html").read_text() == "<html/>"
    info = store.stat(KEY)
    assert info is not None and info.size == entry.size and info.sha256 == entry.sha256
    assert [i.key for i in store.list()] == [KEY]


def test_blobs_are_deterministic(store: LocalStore, artifacts: dict[str, Path], tmp_path: Path) -> None:
    assert store.put(KEY, artifacts, {})
    first = store.get(KEY)
    for path in artifacts.values():
        os.utime(path, (1, 1))
    assert store.put("b" * 64, artifacts, {})
    second = store.get("b" * 64)
    assert first is not None and second is not None
    assert first.sha256 == second.sha256


def test_missing_key_is_a_quiet_miss(store: LocalStore, caplog: pytest.LogCaptureFixture) -> None:
    assert store.get(KEY) is None
    assert store.stat(KEY) is None
    assert cache_warnings(caplog) == []


def test_corrupt_blob_is_reported_and_ignored(
    store: LocalStore, artifacts: dict[str, Path], caplog: pytest.LogCaptureFixture
) -> None:
    assert store.put(KEY, artifacts, {})
    (blob,) = (store.root / "entries" / KEY).glob("*.tar.gz")
    data = bytearray(blob.read_bytes())
    data[len(data) // 2] ^= 0xFF
    blob.write_bytes(bytes(data))
    assert store.get(KEY) is None
    assert any("corrupt" in w and KEY in w for w in cache_warnings(caplog))
    # The next successful run writes the entry again and repairs it.
    assert store.put(KEY, artifacts, {})
    assert store.get(KEY) is not None


def test_corrupt_index_is_reported_and_ignored(
    store: LocalStore, artifacts: dict[str, Path], caplog: pytest.LogCaptureFixture
) -> None:
    assert store.put(KEY, artifacts, {})
    (store.root / "entries" / KEY / "index.json").write_text("{not json")
    assert store.get(KEY) is None
    assert any("bad index" in w for w in cache_warnings(caplog))


def test_index_without_blob_is_reported(
    store: LocalStore, artifacts: dict[str, Path], caplog: pytest.LogCaptureFixture
) -> None:
    assert store.put(KEY, artifacts, {})
    for blob in (store.root / "entries" / KEY).glob("*.tar.gz"):
        blob.unlink()
    assert store.get(KEY) is None
    assert any("not there" in w for w in cache_warnings(caplog))


def test_a_tampered_blob_cannot_write_outside_the_destination(
    store: LocalStore, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # Someone with write access to a shared bucket rewrites blob and index together:
    # the sha256 then matches, and only the extraction filter stands in the way.
    evil = tmp_path / "evil.tar.gz"
    with tarfile.open(evil, "w:gz") as tar:
        info = tarfile.TarInfo("../escaped.txt")
        info.size = 3
        tar.addfile(info, io.BytesIO(b"pwn"))
    sha, size = sha256_file(evil)
    entry = Entry(
        key=KEY,
        blob=evil,
        sha256=sha,
        size=size,
        created=datetime.now(UTC),
        names=("../escaped.txt",),
    )
    assert store.put_entry(entry)
    got = store.get(KEY)
    assert got is not None
    assert got.extract(tmp_path / "dest" / "inner") is None
    assert not (tmp_path / "dest" / "escaped.txt").exists()
    assert any("could not be restored" in w for w in cache_warnings(caplog))


def test_invalid_keys_are_refused(store: LocalStore, artifacts: dict[str, Path]) -> None:
    for bad in ("", "../x", "/abs", "a//b", "a/index.json", "a/b.tar.gz", "sp ace"):
        with pytest.raises(InvalidKey):
            store.put(bad, artifacts, {})


def test_nested_keys_do_not_clash(store: LocalStore, tmp_path: Path) -> None:
    put(store, "volumes/pip", "parent", tmp_path)
    put(store, "volumes/pip/abc", "child", tmp_path)
    assert store.delete("volumes/pip")
    assert store.get("volumes/pip") is None
    assert store.get("volumes/pip/abc") is not None


def test_concurrent_writers_and_readers_in_threads(
    store: LocalStore, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    sources = []
    for i in range(4):
        src = tmp_path / f"log{i}.txt"
        src.write_text(f"writer {i}\n" * 1000)
        sources.append(src)
    stop = threading.Event()
    seen: set[str] = set()

    def writer(i: int) -> None:
        for _ in range(15):
            # Two writers share content (same blob name), two differ.
            assert store.put(KEY, {"log.txt": sources[i % 2 if i < 2 else i]}, {"w": i})

    def reader() -> None:
        while not stop.is_set():
            entry = store.get(KEY)
            if entry is not None:
                files = entry.extract(tmp_path / f"r{threading.get_ident()}")
                if files is not None:
                    seen.add(files["log.txt"].read_text()[:8])

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(4)]
    readers = [threading.Thread(target=reader) for _ in range(2)]
    for t in threads + readers:
        t.start()
    for t in threads:
        t.join()
    stop.set()
    for t in readers:
        t.join()
    assert cache_warnings(caplog) == []
    assert seen, "readers saw no entry at all"
    final = store.get(KEY)
    assert final is not None
    assert not list((store.root / "entries" / KEY).glob(".tmp-*"))


WRITER = """
import sys
from pathlib import Path
from pipeline.cache.local import LocalStore
store = LocalStore(Path(sys.argv[1]))
src = Path(sys.argv[2])
for _ in range(10):
    assert store.put(sys.argv[3], {"log.txt": src}, {"pid": sys.argv[4]})
    entry = store.get(sys.argv[3])
    assert entry is not None and entry.extract(Path(sys.argv[5])) is not None
"""


def test_concurrent_writers_in_processes(store: LocalStore, tmp_path: Path) -> None:
    procs = []
    for i in range(3):
        src = tmp_path / f"p{i}.txt"
        src.write_text(f"process {i % 2}\n" * 5000)
        procs.append(
            subprocess.Popen(
                [
                    sys.executable,
                    "-c",
                    WRITER,
                    str(store.root),
                    str(src),
                    KEY,
                    str(i),
                    str(tmp_path / f"x{i}"),
                ],
                stderr=subprocess.PIPE,
                text=True,
            )
        )
    for p in procs:
        _, err = p.communicate(timeout=60)
        assert p.returncode == 0, err
        assert "corrupt" not in err
    assert store.get(KEY) is not None


def test_get_marks_last_use(store: LocalStore, tmp_path: Path) -> None:
    put(store, KEY, "x", tmp_path)
    backdate(store, KEY, timedelta(days=3))
    (info,) = store.list()
    assert info.last_used < info.created  # created is in the index, not backdated
    assert store.get(KEY) is not None
    (info,) = store.list()
    assert info.last_used > info.created


def test_prune_by_age(store: LocalStore, tmp_path: Path) -> None:
    old, fresh = "0" * 64, "1" * 64
    put(store, old, "old", tmp_path)
    put(store, fresh, "fresh", tmp_path)
    backdate(store, old, timedelta(days=8))
    removed = store.prune(older_than=timedelta(days=7))
    assert [i.key for i in removed] == [old]
    assert [i.key for i in store.list()] == [fresh]
    assert not (store.root / "entries" / old).exists()


def test_prune_by_size_is_least_recently_used(store: LocalStore, tmp_path: Path) -> None:
    keys = [str(i) * 64 for i in range(4)]
    for i, key in enumerate(keys):
        put(store, key, f"entry {i}\n" * 2000, tmp_path)
        backdate(store, key, timedelta(hours=10 - i))  # 0 is the least recent...
    assert store.get(keys[0]) is not None  # ...until it is used again
    size = store.list()[0].size
    removed = store.prune(max_bytes=2 * size + size // 2)
    assert sorted(i.key for i in removed) == [keys[1], keys[2]]
    assert sorted(i.key for i in store.list()) == [keys[0], keys[3]]


def test_prune_sweeps_orphans_after_a_grace_period(store: LocalStore, tmp_path: Path) -> None:
    put(store, KEY, "kept", tmp_path)
    entry_dir = store.root / "entries" / KEY
    stale = entry_dir / ("f" * 64 + ".tar.gz")  # a lost race's blob
    young = entry_dir / ("e" * 64 + ".tar.gz")  # a writer that is still writing
    tmp_file = entry_dir / ".tmp-crashed"
    for path in (stale, young, tmp_file):
        path.write_bytes(b"x")
    old = time.time() - (ORPHAN_GRACE + timedelta(minutes=5)).total_seconds()
    os.utime(stale, (old, old))
    os.utime(tmp_file, (old, old))
    assert store.prune(older_than=timedelta(days=1)) == []
    assert not stale.exists() and not tmp_file.exists()
    assert young.exists()
    assert store.get(KEY) is not None


def test_an_unwritable_store_warns_once_and_never_raises(
    tmp_path: Path, artifacts: dict[str, Path], caplog: pytest.LogCaptureFixture
) -> None:
    blocker = tmp_path / "cache"
    blocker.write_text("a file where the cache directory should be")
    store = LocalStore(blocker)
    assert store.put(KEY, artifacts, {}) is False
    assert store.put(KEY, artifacts, {}) is False
    assert store.get(KEY) is None
    assert store.put_object("x.json", b"{}") is False
    assert store.list() == []
    warnings = cache_warnings(caplog)
    assert len([w for w in warnings if "pack failed" in w]) == 1


def test_named_objects_and_json(store: LocalStore, caplog: pytest.LogCaptureFixture) -> None:
    name = durations_name("unit")
    assert load_json(store, name, {}) == {}
    assert save_json(store, name, {"tests/test_a.py::test_x": 1.5})
    assert load_json(store, name, {}) == {"tests/test_a.py::test_x": 1.5}
    assert store.put_object("releases/staging.json", b"[not json")
    assert load_json(store, "releases/staging.json", []) == []
    assert any("not valid JSON" in w for w in cache_warnings(caplog))
    # Objects are not entries: they do not show up in `cache ls`.
    assert store.list() == []


def test_default_dir_is_the_user_cache_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SLIPWAY_CACHE_DIR", str(tmp_path / "elsewhere"))
    assert LocalStore().root == tmp_path / "elsewhere"
    monkeypatch.delenv("SLIPWAY_CACHE_DIR")
    assert LocalStore().root.name == "slipway"


def test_ls_and_prune_rows(store: LocalStore, tmp_path: Path) -> None:
    put(store, "0" * 64, "a", tmp_path, job="tests: unit")
    put(store, "1" * 64, "b", tmp_path, job="tests: api")
    backdate(store, "0" * 64, timedelta(days=10))
    rows = ls(store)
    assert [r.job for r in rows] == ["tests: api", "tests: unit"]  # most recent first
    assert all(r.size > 0 and r.where == "local" for r in rows)
    removed = prune(store, older_than="7d")
    assert [r.job for r in removed] == ["tests: unit"]
    with pytest.raises(UsageError):
        prune(store)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("7d", timedelta(days=7)),
        ("12h", timedelta(hours=12)),
        ("30m", timedelta(minutes=30)),
        ("45s", timedelta(seconds=45)),
        ("2w", timedelta(weeks=2)),
        ("1d12h", timedelta(days=1, hours=12)),
        ("1.5h", timedelta(minutes=90)),
    ],
)
def test_parse_duration(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "7", "d", "7 days", "-1d", "7x"])
def test_parse_duration_rejects(text: str) -> None:
    with pytest.raises(UsageError, match="7d"):
        parse_duration(text)


def test_parse_size() -> None:
    assert parse_size("500M") == 500 * 1024**2
    assert parse_size("2G") == 2 * 1024**3
    assert parse_size("2GiB") == 2 * 1024**3
    assert parse_size("1024") == 1024
    with pytest.raises(UsageError):
        parse_size("lots")
