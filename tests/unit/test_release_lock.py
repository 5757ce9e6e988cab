"""Release history between concurrent runners on one host (issue 11, item 5): two CI
jobs deploying at once each read, change and write ``<env>.json``; without a lock the
later write drops the other's releases."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

from pipeline.ship.releases import Release, ReleaseStore, new_id, now

WRITERS, EACH = 4, 25


def _writer(base: str, n: int) -> None:
    store = ReleaseStore(Path(base))
    for i in range(EACH):
        release = Release(
            id=f"{new_id()}-{n}-{i}", environment="staging", target="docker", images={},
            git_sha="f" * 40, run_id=f"run{n}", stage="deploy", started=now(),
        )
        store.save(release)
        store.finish(release, "success", "")


def test_concurrent_writers_lose_no_release(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_writer, args=(str(tmp_path), n)) for n in range(WRITERS)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    history = ReleaseStore(tmp_path).history("staging")
    assert len(history) == WRITERS * EACH
    assert all(r.result == "success" for r in history)
