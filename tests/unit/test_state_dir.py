"""Slipway's state lives outside the user's checkout (issue 13, finding 7): a run writes
nothing next to pipeline.yaml, and what earlier versions wrote there is still read."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline.config import load_config
from pipeline.config.state import state_dir
from pipeline.model.outcome import JobStatus
from pipeline.run.lastrun import last_durations, save_durations
from pipeline.ship.releases import Release, ReleaseStore


class _Record:
    def __init__(self, name: str, seconds: float) -> None:
        self.job = type("J", (), {"name": name})()
        self.status = JobStatus.SUCCESS
        self.duration_s = seconds


class _Result:
    def __init__(self, **durations: float) -> None:
        self.records = [_Record(n, s) for n, s in durations.items()]


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    project = tmp_path / "checkout"
    project.mkdir()
    (project / "pipeline.yaml").write_text(
        "project: {name: demo}\nstages: [{name: lint, kind: command, image: x, commands: [[\"true\"]]}]\n"
    )
    return project


def test_a_run_writes_its_state_outside_the_checkout(checkout: Path, private_state_dir: Path) -> None:
    config = load_config(checkout / "pipeline.yaml", environ={})
    save_durations(config, _Result(lint=3.5))  # type: ignore[arg-type]
    assert sorted(p.name for p in checkout.iterdir()) == ["pipeline.yaml"]
    assert config.state_dir.is_relative_to(private_state_dir)
    assert json.loads((config.state_dir / "last-run.json").read_text()) == {"durations": {"lint": 3.5}}
    assert last_durations(config) == {"lint": 3.5}


def test_two_checkouts_never_share_state(tmp_path: Path) -> None:
    assert state_dir(tmp_path / "a" / "shop") != state_dir(tmp_path / "b" / "shop")
    assert state_dir(tmp_path / "a" / "shop").name.startswith("shop-")


def test_what_earlier_versions_wrote_in_the_checkout_is_still_read(checkout: Path) -> None:
    legacy = checkout / ".slipway"
    (legacy / "releases").mkdir(parents=True)
    (legacy / "last-run.json").write_text(json.dumps({"durations": {"lint": 9.0}}))
    old = Release(id="r1", environment="staging", target="docker", images={}, git_sha="a", run_id="x",
                  stage="deploy", started="2026-01-01T00:00:00+00:00", result="success")
    (legacy / "releases/staging.json").write_text(json.dumps({"releases": [old.as_data()]}))
    config = load_config(checkout / "pipeline.yaml", environ={})
    assert last_durations(config) == {"lint": 9.0}
    store = ReleaseStore(checkout)
    assert store.current("staging") == old
    # The next write goes to the state folder, with the history it read.
    newer = Release(id="r2", environment="staging", target="docker", images={}, git_sha="b", run_id="y",
                    stage="deploy", started="2026-01-02T00:00:00+00:00", result="success")
    store.save(newer)
    assert [r.id for r in ReleaseStore(checkout).history("staging")] == ["r1", "r2"]
    assert (config.state_dir / "releases/staging.json").is_file()
