"""How many CPUs this process may really use: cgroup quotas and the cpuset.

``os.cpu_count()`` (and so xdist's ``-n auto``) reports the host's cores, not a
container's ``--cpus`` quota, and workers beyond the quota only slow each other
down. Standard library only: Slipway copies this file into test containers and
runs ``python slipway_cpus.py`` there, which prints the number.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")
PROC_SELF_CGROUP = Path("/proc/self/cgroup")


def available_cpus(
    cgroup_root: str | os.PathLike[str] = CGROUP_ROOT,
    proc_self_cgroup: str | os.PathLike[str] = PROC_SELF_CGROUP,
    affinity: int | None = None,
) -> int:
    """The CPUs this process can use: the least of its cgroup quota and cpuset, at least 1.

    A fractional quota is rounded down (1.5 CPUs -> 1): a worker on a fraction
    of a CPU slows every other worker. ``affinity`` overrides the cpuset count
    (for tests); by default it is ``len(os.sched_getaffinity(0))``.
    """
    limits = [affinity if affinity is not None else _affinity()]
    quota = cgroup_cpu_quota(Path(cgroup_root), Path(proc_self_cgroup))
    if quota is not None:
        limits.append(math.floor(quota))
    return max(1, min(limits))


def _affinity() -> int:
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def cgroup_cpu_quota(root: Path, proc_self_cgroup: Path) -> float | None:
    """The CPU quota (in CPUs) of this process's cgroup and its ancestors, or None."""
    memberships = _memberships(proc_self_cgroup)
    if (root / "cgroup.controllers").exists():  # cgroup v2, unified
        return _least(_v2_quota(d) for d in _lineage(root, memberships.get("", "/")))
    for name in ("cpu", "cpu,cpuacct", "cpuacct,cpu"):  # cgroup v1: the cpu controller
        mount = root / name
        if (mount / "cpu.cfs_quota_us").exists():
            path = memberships.get("cpu", "/")
            return _least(_v1_quota(d) for d in _lineage(mount, path))
    return None


def _memberships(proc_self_cgroup: Path) -> dict[str, str]:
    """Controller -> cgroup path, from lines like ``4:cpu,cpuacct:/docker/abc``.

    The v2 line (``0::/path``) is under the key ``""``.
    """
    try:
        text = proc_self_cgroup.read_text()
    except OSError:
        return {}
    out: dict[str, str] = {}
    for line in text.splitlines():
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        controllers = parts[1].split(",") if parts[1] else [""]
        for controller in controllers:
            out[controller] = parts[2]
    return out


def _lineage(mount: Path, cgroup_path: str) -> Iterator[Path]:
    """The cgroup's directory and each parent up to the mount, those that exist.

    A quota on any ancestor limits this process too. In a container with its own
    cgroup view the mount *is* its cgroup, and the path from /proc/self/cgroup
    (``/docker/<id>`` on a v1 host) does not exist under it: only the mount
    itself is then looked at.
    """
    relative = cgroup_path.strip("/")
    current = mount / relative if relative else mount
    while True:
        if current.is_dir():
            yield current
        if current == mount or mount not in current.parents:
            return
        current = current.parent


def _v2_quota(directory: Path) -> float | None:
    # cpu.max: "<quota> <period>" or "max <period>"
    try:
        fields = (directory / "cpu.max").read_text().split()
    except OSError:
        return None
    if len(fields) != 2 or fields[0] == "max":
        return None
    return _ratio(fields[0], fields[1])


def _v1_quota(directory: Path) -> float | None:
    try:
        quota = (directory / "cpu.cfs_quota_us").read_text().strip()
        period = (directory / "cpu.cfs_period_us").read_text().strip()
    except OSError:
        return None
    return _ratio(quota, period)


def _ratio(quota: str, period: str) -> float | None:
    try:
        q, p = int(quota), int(period)
    except ValueError:
        return None
    if q <= 0 or p <= 0:  # -1 is v1's "no limit"
        return None
    return q / p


def _least(values: Iterator[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return min(known) if known else None


if __name__ == "__main__":
    print(available_cpus())
