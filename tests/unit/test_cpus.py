from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.stages.pytest.budget import budget_workers
from pipeline.testing.cpus import available_cpus, cgroup_cpu_quota

pytestmark = pytest.mark.unit


def _write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def _v2(tmp_path: Path, cpu_max: dict[str, str], self_path: str = "/") -> tuple[Path, Path]:
    root = tmp_path / "cgroup"
    _write(root, {"cgroup.controllers": "cpuset cpu memory\n"})
    _write(root, {f"{d}/cpu.max".lstrip("/"): v for d, v in cpu_max.items()})
    proc = tmp_path / "proc_self_cgroup"
    proc.write_text(f"0::{self_path}\n")
    return root, proc


def _v1(tmp_path: Path, quotas: dict[str, tuple[int, int]], self_path: str = "/") -> tuple[Path, Path]:
    root = tmp_path / "cgroup"
    files = {}
    for d, (quota, period) in quotas.items():
        files[f"cpu,cpuacct/{d}/cpu.cfs_quota_us".replace("//", "/")] = f"{quota}\n"
        files[f"cpu,cpuacct/{d}/cpu.cfs_period_us".replace("//", "/")] = f"{period}\n"
    _write(root, files)
    proc = tmp_path / "proc_self_cgroup"
    proc.write_text(f"12:memory:{self_path}\n4:cpu,cpuacct:{self_path}\n1:name=systemd:/\n")
    return root, proc


def test_v2_quota_in_a_container(tmp_path: Path) -> None:
    # docker run --cpus=2 with its own cgroup namespace: the mount is the container.
    root, proc = _v2(tmp_path, {"": "200000 100000\n"})
    assert available_cpus(root, proc, affinity=16) == 2


def test_v2_no_quota_falls_back_to_the_cpuset(tmp_path: Path) -> None:
    root, proc = _v2(tmp_path, {"": "max 100000\n"})
    assert cgroup_cpu_quota(root, proc) is None
    assert available_cpus(root, proc, affinity=6) == 6


def test_v2_on_a_host_the_tightest_ancestor_wins(tmp_path: Path) -> None:
    root, proc = _v2(
        tmp_path,
        {"": "max 100000", "ci.slice": "300000 100000", "ci.slice/job": "max 100000"},
        self_path="/ci.slice/job",
    )
    assert cgroup_cpu_quota(root, proc) == 3.0
    assert available_cpus(root, proc, affinity=8) == 3


def test_fractional_quota_is_rounded_down_but_never_below_one(tmp_path: Path) -> None:
    root, proc = _v2(tmp_path, {"": "150000 100000"})
    assert available_cpus(root, proc, affinity=8) == 1
    root, proc = _v2(tmp_path / "b", {"": "50000 100000"})
    assert available_cpus(root, proc, affinity=8) == 1


def test_cpuset_smaller_than_quota(tmp_path: Path) -> None:
    root, proc = _v2(tmp_path, {"": "800000 100000"})
    assert available_cpus(root, proc, affinity=2) == 2


def test_v1_quota_in_a_container(tmp_path: Path) -> None:
    # On a v1 host /proc/self/cgroup names /docker/<id>, which the container's
    # own mount does not have: its root holds the container's quota.
    root, proc = _v1(tmp_path, {"": (250000, 100000)}, self_path="/docker/abc123")
    assert cgroup_cpu_quota(root, proc) == 2.5
    assert available_cpus(root, proc, affinity=32) == 2


def test_v1_no_quota(tmp_path: Path) -> None:
    root, proc = _v1(tmp_path, {"": (-1, 100000)})
    assert available_cpus(root, proc, affinity=4) == 4


def test_v1_nested_quota_on_a_host(tmp_path: Path) -> None:
    root, proc = _v1(
        tmp_path, {"": (-1, 100000), "docker/abc": (400000, 100000)}, self_path="/docker/abc"
    )
    assert available_cpus(root, proc, affinity=32) == 4


def test_no_cgroup_filesystem_at_all(tmp_path: Path) -> None:
    assert available_cpus(tmp_path / "none", tmp_path / "none2", affinity=3) == 3


def test_this_machine_gives_a_positive_count() -> None:
    assert available_cpus() >= 1


def test_budget_proportional_and_adds_up_to_the_cores() -> None:
    workers = budget_workers(8, [("unit", 100), ("integration", 300), ("api", 100)])
    assert sum(workers.values()) == 8
    assert workers["integration"] == 5
    assert sorted([workers["unit"], workers["api"]]) == [1, 2]


def test_budget_every_job_gets_at_least_one() -> None:
    workers = budget_workers(4, [("unit", 1), ("integration", 1000), ("api", 1)])
    assert workers == {"unit": 1, "integration": 2, "api": 1}


def test_budget_more_jobs_than_cores() -> None:
    assert budget_workers(2, [("a", 1), ("b", 1), ("c", 5)]) == {"a": 1, "b": 1, "c": 1}


def test_budget_no_known_work_shares_evenly_and_is_deterministic() -> None:
    jobs = [("a", 0), ("b", 0), ("c", 0)]
    assert budget_workers(16, jobs) == {"a": 6, "b": 5, "c": 5}
    assert budget_workers(16, jobs) == budget_workers(16, list(jobs))


def test_budget_single_job_takes_all_and_bad_input() -> None:
    assert budget_workers(3, [("only", 5)]) == {"only": 3}
    assert budget_workers(3, []) == {}
    with pytest.raises(ValueError, match="at least 1"):
        budget_workers(0, [("a", 1)])
    with pytest.raises(ValueError, match="unique"):
        budget_workers(4, [("a", 1), ("a", 2)])
    with pytest.raises(ValueError, match="negative"):
        budget_workers(4, [("a", -1)])


@pytest.mark.parametrize("cores", [1, 2, 3, 5, 8, 13, 64])
def test_budget_sums_to_cores_for_many_shapes(cores: int) -> None:
    jobs = [("a", 7), ("b", 1), ("c", 0), ("d", 30)]
    workers = budget_workers(cores, jobs)
    assert all(n >= 1 for n in workers.values())
    assert sum(workers.values()) == max(cores, len(jobs))
