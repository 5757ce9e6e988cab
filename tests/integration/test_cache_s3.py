"""The store contract against a real S3-compatible HTTP server (moto_server), and the
local store; plus what happens when S3 dies or hangs. No boto3 patching anywhere."""

from __future__ import annotations

import logging
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from s3server import MotoServer, fake_aws_environment

from pipeline.cache import (
    EntryStore,
    LocalStore,
    S3Store,
    Store,
    TieredStore,
    load_json,
    restore_volume_archive,
    save_json,
    save_volume_archive,
)

pytestmark = pytest.mark.integration

BUCKET = "slipway-cache"
KEY = "c" * 64
BOUNDED_S = 15.0


@pytest.fixture(scope="module", autouse=True)
def aws_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Fake credentials, and no ~/.aws files that could point boto3 elsewhere."""
    home = tmp_path_factory.mktemp("aws")
    with fake_aws_environment(home):
        yield


@pytest.fixture(scope="module")
def servers(aws_env: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, MotoServer]]:
    # Two servers started side by side (startup dominates): one shared, one to kill.
    logs = tmp_path_factory.mktemp("moto")
    started = {"shared": MotoServer(logs / "shared.log"), "doomed": MotoServer(logs / "doomed.log")}
    try:
        for server in started.values():
            server.wait_ready()
        for server in started.values():
            s3_client(server.url).create_bucket(Bucket=BUCKET)
        yield started
    finally:
        for server in started.values():
            server.stop()


def s3_client(endpoint: str) -> Any:
    return boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")


@pytest.fixture
def endpoint(servers: dict[str, MotoServer]) -> str:
    return servers["shared"].url


def new_s3_store(endpoint: str, **kwargs: Any) -> S3Store:
    # A prefix per test keeps tests apart in one bucket, as teams share one bucket.
    return S3Store(BUCKET, prefix=f"t/{uuid.uuid4().hex}", endpoint_url=endpoint, **kwargs)


def corrupt_local(store: EntryStore, key: str) -> None:
    assert isinstance(store, LocalStore)
    for blob in (store.root / "entries" / key).glob("*.tar.gz"):
        blob.write_bytes(blob.read_bytes()[:-10] + b"0123456789")


def s3_blobs(store: S3Store, key: str) -> list[str]:
    client = s3_client(store.backend.endpoint_url or "")
    base = f"{store.backend.prefix}/entries/{key}/"
    listed = client.list_objects_v2(Bucket=BUCKET, Prefix=base)["Contents"]
    blobs = [o["Key"] for o in listed if o["Key"].endswith(".tar.gz")]
    assert blobs
    return blobs


def corrupt_s3(store: EntryStore, key: str) -> None:
    assert isinstance(store, S3Store)
    client = s3_client(store.backend.endpoint_url or "")
    for name in s3_blobs(store, key):
        client.put_object(Bucket=BUCKET, Key=name, Body=b"not the blob the index vouches for")


@pytest.fixture(params=["local", "s3"])
def contract(
    request: pytest.FixtureRequest, tmp_path: Path
) -> tuple[EntryStore, Callable[[EntryStore, str], None]]:
    """The store under test and how to corrupt one of its blobs behind its back."""
    if request.param == "local":
        return LocalStore(tmp_path / "cache"), corrupt_local
    return new_s3_store(request.getfixturevalue("endpoint")), corrupt_s3


Contract = tuple[EntryStore, Callable[[EntryStore, str], None]]


@pytest.fixture
def artifacts(tmp_path: Path) -> dict[str, Path]:
    out = tmp_path / "out"
    out.mkdir()
    (out / "junit.xml").write_text('<testsuite tests="806" failures="0"/>')
    (out / "log.txt").write_text("806 passed in 427s\n" * 100)
    return {"junit.xml": out / "junit.xml", "log.txt": out / "log.txt"}


def warnings_of(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage() for r in caplog.records if r.name == "pipeline.cache" and r.levelno >= logging.WARNING
    ]


# -- the contract, for both stores ------------------------------------------------------


def test_roundtrip(contract: Contract, artifacts: dict[str, Path], tmp_path: Path) -> None:
    store, _ = contract
    assert isinstance(store, Store)
    meta = {"job": "tests: unit", "tests": {"passed": 806}}
    assert store.get(KEY) is None
    assert store.put(KEY, artifacts, meta)
    entry = store.get(KEY)
    assert entry is not None and entry.meta == meta
    files = entry.extract(tmp_path / "restored")
    assert files is not None
    assert files["log.txt"].read_text() == artifacts["log.txt"].read_text()
    info = store.stat(KEY)
    assert info is not None and info.sha256 == entry.sha256
    (listed,) = store.list()
    assert listed.key == KEY and listed.job == "tests: unit" and listed.size == entry.size


def test_corrupt_blob_is_detected_and_ignored(
    contract: Contract, artifacts: dict[str, Path], caplog: pytest.LogCaptureFixture
) -> None:
    store, corrupt = contract
    assert store.put(KEY, artifacts, {})
    corrupt(store, KEY)
    assert store.get(KEY) is None
    assert any("corrupt" in w for w in warnings_of(caplog))
    assert store.put(KEY, artifacts, {})  # a fresh result repairs it
    assert store.get(KEY) is not None


def test_index_without_its_blob_is_a_reported_miss(
    contract: Contract, artifacts: dict[str, Path], caplog: pytest.LogCaptureFixture
) -> None:
    store, _ = contract
    assert store.put(KEY, artifacts, {})
    if isinstance(store, S3Store):
        client = s3_client(store.backend.endpoint_url or "")
        for name in s3_blobs(store, KEY):
            client.delete_object(Bucket=BUCKET, Key=name)
    else:
        assert isinstance(store, LocalStore)
        for blob in (store.root / "entries" / KEY).glob("*.tar.gz"):
            blob.unlink()
    assert store.get(KEY) is None
    assert any("not there" in w for w in warnings_of(caplog))
    assert store.available  # a missing blob is not an outage


def test_concurrent_writers_of_one_key(
    contract: Contract, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store, _ = contract
    sources = []
    for i in range(2):
        src = tmp_path / f"log{i}.txt"
        src.write_text(f"runner {i}\n" * 2000)
        sources.append(src)
    results: list[bool] = []

    def writer(i: int) -> None:
        for _ in range(4):
            results.append(store.put(KEY, {"log.txt": sources[i % 2]}, {"writer": i}))
            entry = store.get(KEY)
            assert entry is not None

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(results) and len(results) == 16
    assert warnings_of(caplog) == []
    entry = store.get(KEY)
    assert entry is not None
    files = entry.extract(tmp_path / "final")
    assert files is not None and files["log.txt"].read_text().startswith("runner ")


def test_delete_list_and_prune(contract: Contract, tmp_path: Path) -> None:
    store, _ = contract
    keys = [str(i) * 64 for i in range(3)]
    for i, key in enumerate(keys):
        src = tmp_path / f"{i}.txt"
        src.write_text(f"entry {i}\n" * 500)
        assert store.put(key, {"log.txt": src}, {"job": f"job{i}"})
    assert store.delete(keys[0])
    assert store.get(keys[0]) is None
    assert [i.key for i in store.list()] == keys[1:]
    size = store.list()[0].size
    assert len(store.prune(max_bytes=size)) == 1
    assert len(store.list()) == 1
    assert len(store.prune(older_than=timedelta(0))) == 1
    assert store.list() == []


def test_named_objects(contract: Contract) -> None:
    store, _ = contract
    assert store.get_object("durations/unit.json") is None
    assert save_json(store, "durations/unit.json", {"t::a": 1.0})
    assert load_json(store, "durations/unit.json", {}) == {"t::a": 1.0}
    assert save_json(store, "releases/staging.json", [{"sha": "abc"}])
    assert load_json(store, "releases/staging.json", []) == [{"sha": "abc"}]


def test_volume_fallback(contract: Contract, tmp_path: Path) -> None:
    store, _ = contract
    tar = tmp_path / "pip.tar"
    tar.write_bytes(b"pretend this is a tar of ~/.cache/pip" * 100)
    assert save_volume_archive(store, "pip", "lock-a", tar)
    restored = restore_volume_archive(store, "pip", "lock-b", dest_dir=tmp_path / "r")
    assert restored is not None and not restored.exact
    assert restored.tar.read_bytes() == tar.read_bytes()


# -- S3 specifics ------------------------------------------------------------------------


def test_tiered_store_fills_local_from_remote(
    endpoint: str, artifacts: dict[str, Path], tmp_path: Path
) -> None:
    remote = new_s3_store(endpoint)
    assert remote.put(KEY, artifacts, {"job": "unit"})
    # A fresh runner: empty local cache, warm bucket.
    local = LocalStore(tmp_path / "fresh-runner")
    tiered = TieredStore(local, remote)
    entry = tiered.get(KEY)
    assert entry is not None and entry.meta == {"job": "unit"}
    assert entry.blob.is_relative_to(local.root)
    local_entry = local.get(KEY)
    assert local_entry is not None and local_entry.sha256 == entry.sha256
    assert not any(remote.backend.scratch.iterdir()), "the downloaded temp copy was kept"
    assert [i.where for i in tiered.list()] == ["local+s3"]


def test_tiered_put_writes_both_and_objects_prefer_remote(
    endpoint: str, artifacts: dict[str, Path], tmp_path: Path
) -> None:
    remote = new_s3_store(endpoint)
    tiered = TieredStore(LocalStore(tmp_path / "a"), remote)
    assert tiered.put(KEY, artifacts, {"job": "unit"})
    assert remote.get(KEY) is not None
    # Another runner saved newer durations: the shared copy wins over a stale local one.
    assert tiered.put_object("durations/unit.json", b'{"old": 1}')
    assert remote.put_object("durations/unit.json", b'{"new": 1}')
    assert load_json(tiered, "durations/unit.json", {}) == {"new": 1}


def test_s3_killed_mid_use(
    servers: dict[str, MotoServer],
    artifacts: dict[str, Path],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    doomed = servers["doomed"]
    remote = new_s3_store(doomed.url)
    local = LocalStore(tmp_path / "local")
    tiered = TieredStore(local, remote)
    assert tiered.put(KEY, artifacts, {"job": "unit"})
    local.delete(KEY)  # so the next get has to ask S3

    doomed.stop()
    start = time.monotonic()
    assert tiered.get(KEY) is None
    assert time.monotonic() - start < BOUNDED_S
    # The result of a job that ran anyway is still kept, locally.
    assert tiered.put("d" * 64, artifacts, {"job": "unit"})
    assert local.get("d" * 64) is not None
    assert tiered.put_object("durations/unit.json", b"{}")
    assert load_json(tiered, "durations/unit.json", None) == {}
    assert remote.list() == [] and remote.prune(older_than=timedelta(0)) == []
    assert time.monotonic() - start < BOUNDED_S
    unreachable = [w for w in warnings_of(caplog) if "unreachable" in w]
    assert len(unreachable) == 1, warnings_of(caplog)
    assert remote.available is False


def test_s3_that_accepts_but_never_answers_is_bounded(
    aws_env: None, artifacts: dict[str, Path], caplog: pytest.LogCaptureFixture
) -> None:
    listener = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept_and_hang() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
                held.append(conn)  # read nothing, answer nothing
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept_and_hang, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{listener.getsockname()[1]}"
        store = new_s3_store(url, read_timeout=1.0, connect_timeout=1.0, max_attempts=2)
        start = time.monotonic()
        assert store.get(KEY) is None
        assert store.put(KEY, artifacts, {}) is False
        assert store.get_object("durations/unit.json") is None
        assert time.monotonic() - start < BOUNDED_S
        assert len([w for w in warnings_of(caplog) if "unreachable" in w]) == 1
    finally:
        stop.set()
        thread.join()
        for conn in held:
            conn.close()
        listener.close()


def test_missing_bucket_is_a_warning_not_an_error(
    endpoint: str, artifacts: dict[str, Path], caplog: pytest.LogCaptureFixture
) -> None:
    store = S3Store("no-such-bucket", endpoint_url=endpoint)
    assert store.put(KEY, artifacts, {}) is False  # the upload fails first
    (warning,) = warnings_of(caplog)
    assert "unreachable" in warning and "NoSuchBucket" in warning
    assert store.get(KEY) is None


def test_layout_in_the_bucket(endpoint: str, artifacts: dict[str, Path]) -> None:
    store = new_s3_store(endpoint)
    assert store.put(KEY, artifacts, {})
    client = s3_client(endpoint)
    names = sorted(
        o["Key"].removeprefix(store.backend.prefix + "/")
        for o in client.list_objects_v2(Bucket=BUCKET, Prefix=store.backend.prefix)["Contents"]
    )
    entry = store.get(KEY)
    assert entry is not None
    assert names == [
        f"entries/{KEY}/{entry.sha256}.tar.gz",
        f"entries/{KEY}/index.json",
        f"entries/{KEY}/last-used",
    ]
