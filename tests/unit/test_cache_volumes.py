"""Cache-volume archives: exact restore, restore-keys fallback, limits and LRU pruning."""

from __future__ import annotations

import logging
import os
import tarfile
import time
from datetime import timedelta
from pathlib import Path

import pytest

from pipeline.cache import (
    LocalStore,
    prune_volume_archives,
    restore_volume_archive,
    save_volume_archive,
    volume_archive_exists,
)

pytestmark = pytest.mark.unit


@pytest.fixture
def store(tmp_path: Path) -> LocalStore:
    return LocalStore(tmp_path / "cache")


def make_tar(tmp_path: Path, name: str, files: dict[str, str]) -> Path:
    """What an engine would export from a volume: a plain tar of its contents."""
    content = tmp_path / f"content-{name}"
    content.mkdir()
    for rel, text in files.items():
        (content / rel).parent.mkdir(parents=True, exist_ok=True)
        (content / rel).write_text(text)
    tar_path = tmp_path / f"{name}.tar"
    with tarfile.open(tar_path, "w") as tar:
        tar.add(content, arcname=".")
    return tar_path


def members(tar_path: Path) -> dict[str, str]:
    with tarfile.open(tar_path) as tar:
        out = {}
        for m in tar.getmembers():
            if m.isfile():
                f = tar.extractfile(m)
                assert f is not None
                out[m.name.removeprefix("./")] = f.read().decode()
        return out


def age(store: LocalStore, key: str, hours: float) -> None:
    when = time.time() - hours * 3600
    for name in ("index.json", "last-used"):
        os.utime(store.root / "entries" / key / name, (when, when))


def test_exact_restore(store: LocalStore, tmp_path: Path) -> None:
    tar = make_tar(tmp_path, "pip1", {"wheels/django.whl": "django"})
    assert save_volume_archive(store, "pip", "lock1", tar)
    assert volume_archive_exists(store, "pip", "lock1")
    restored = restore_volume_archive(store, "pip", "lock1", dest_dir=tmp_path / "r")
    assert restored is not None and restored.exact and restored.key == "volumes/pip/lock1"
    assert members(restored.tar) == {"wheels/django.whl": "django"}


def test_fallback_to_the_newest_archive_of_the_same_volume(store: LocalStore, tmp_path: Path) -> None:
    assert save_volume_archive(store, "pip", "old", make_tar(tmp_path, "a", {"f": "old"}))
    time.sleep(0.01)  # created stamps must differ
    assert save_volume_archive(store, "pip", "new", make_tar(tmp_path, "b", {"f": "new"}))
    assert save_volume_archive(store, "npm", "newest", make_tar(tmp_path, "c", {"f": "npm"}))
    restored = restore_volume_archive(store, "pip", "changed-lock")
    assert restored is not None
    assert not restored.exact and restored.key == "volumes/pip/new"
    assert members(restored.tar) == {"f": "new"}
    assert restore_volume_archive(store, "uv", "anything") is None


def test_fallback_skips_a_corrupt_archive(
    store: LocalStore, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    assert save_volume_archive(store, "pip", "old", make_tar(tmp_path, "a", {"f": "old"}))
    time.sleep(0.01)
    assert save_volume_archive(store, "pip", "new", make_tar(tmp_path, "b", {"f": "new"}))
    for blob in (store.root / "entries" / "volumes" / "pip" / "new").glob("*.tar.gz"):
        blob.write_bytes(b"garbage")
    with caplog.at_level(logging.WARNING, logger="pipeline.cache"):
        restored = restore_volume_archive(store, "pip", "other")
    assert restored is not None and restored.key == "volumes/pip/old"
    assert any("corrupt" in r.getMessage() for r in caplog.records)


def test_an_existing_archive_is_not_saved_again(store: LocalStore, tmp_path: Path) -> None:
    assert save_volume_archive(store, "pip", "lock", make_tar(tmp_path, "a", {"f": "first"}))
    assert save_volume_archive(store, "pip", "lock", make_tar(tmp_path, "b", {"f": "second"}))
    restored = restore_volume_archive(store, "pip", "lock")
    assert restored is not None and members(restored.tar) == {"f": "first"}


def test_size_limit(store: LocalStore, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    tar = make_tar(tmp_path, "big", {"f": "x" * 50_000})
    assert not save_volume_archive(store, "pip", "lock", tar, max_archive_bytes=10_000)
    assert "over the" in caplog.text
    assert not volume_archive_exists(store, "pip", "lock")


def test_keep_per_volume_drops_least_recently_used(store: LocalStore, tmp_path: Path) -> None:
    for i in range(3):
        tar = make_tar(tmp_path, f"v{i}", {"f": str(i)})
        assert save_volume_archive(store, "pip", f"lock{i}", tar, keep_per_volume=None)
        age(store, f"volumes/pip/lock{i}", hours=10 - i)
    assert save_volume_archive(store, "npm", "x", make_tar(tmp_path, "n", {"f": "n"}))
    restore_volume_archive(store, "pip", "lock0")  # used: now the most recent
    removed = prune_volume_archives(store, keep_per_volume=2, max_bytes=None)
    assert [i.key for i in removed] == ["volumes/pip/lock1"]
    assert {i.key for i in store.list("volumes/")} == {
        "volumes/pip/lock0",
        "volumes/pip/lock2",
        "volumes/npm/x",
    }


def test_byte_budget_over_all_volumes_is_lru(store: LocalStore, tmp_path: Path) -> None:
    payload = os.urandom(20_000).hex()  # incompressible enough to have a real size
    for i, volume in enumerate(("pip", "npm", "uv")):
        tar = make_tar(tmp_path, volume, {"f": payload + volume})
        assert save_volume_archive(store, volume, "lock", tar, budget_bytes=None)
        age(store, f"volumes/{volume}/lock", hours=10 - i)
    size = max(i.size for i in store.list("volumes/"))
    removed = prune_volume_archives(store, keep_per_volume=None, max_bytes=2 * size)
    assert [i.key for i in removed] == ["volumes/pip/lock"]


def test_job_entries_are_not_touched_by_volume_pruning(store: LocalStore, tmp_path: Path) -> None:
    log = tmp_path / "log.txt"
    log.write_text("ok")
    assert store.put("a" * 64, {"log.txt": log}, {"job": "unit"})
    assert save_volume_archive(store, "pip", "lock", make_tar(tmp_path, "p", {"f": "p"}))
    prune_volume_archives(store, keep_per_volume=0, max_bytes=0, older_than=timedelta(0))
    assert [i.key for i in store.list()] == ["a" * 64]
