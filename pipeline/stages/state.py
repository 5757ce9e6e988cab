"""What the jobs of one run share, typed, each resource behind its own lock.

The run (the composition root) builds a ``RunState`` and hands it to every job
through ``PipelineRun``. A lookup-or-build that many jobs need (the test base
image, the scanners' image, a test group's collected ids) is a ``Once``: the
first job makes it, the others wait for that one result, and nothing else
waits behind it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass, field
from typing import Generic, Protocol, TypeVar

import anyio

from pipeline.plan import Job
from pipeline.ship.images import AppImageRecords

T = TypeVar("T")
K = TypeVar("K", bound=Hashable)


class Once(Generic[T]):
    """A value made at most once per run. If making it fails, the next caller tries again."""

    def __init__(self) -> None:
        self._lock = anyio.Lock()
        self._value: T | None = None
        self._made = False

    async def get(self, make: Callable[[], Awaitable[T]]) -> T:
        async with self._lock:
            if not self._made:
                self._value = await make()
                self._made = True
            return self._value  # type: ignore[return-value]  # set above, T may be Optional

    def peek(self) -> T | None:
        """The value if it was made, without waiting (for reports)."""
        return self._value if self._made else None


class OncePerKey(Generic[K, T]):
    """A ``Once`` per key: each key's value is made once, keys do not wait for each other."""

    def __init__(self) -> None:
        self._items: dict[K, Once[T]] = {}

    async def get(self, key: K, make: Callable[[], Awaitable[T]]) -> T:
        return await self._items.setdefault(key, Once()).get(make)


@dataclass(frozen=True, slots=True)
class BuiltImage:
    """An image a run looked up or built: its reference, and the build's seconds if it built it."""

    ref: str
    build_s: float | None = None


class CacheProbe(Protocol):
    """Whether the job cache will answer a job of this run (so it will not run)."""

    async def answers(self, job: Job) -> bool: ...


class NothingCached:
    """The probe of a run without a job cache: every job runs."""

    async def answers(self, job: Job) -> bool:
        return False


@dataclass(slots=True, kw_only=True)
class RunState:
    """The run's shared resources (built by the run, one per run)."""

    test_image: Once[BuiltImage] = field(default_factory=Once)
    scanner_image: Once[str] = field(default_factory=Once)
    collected: OncePerKey[str, tuple[str, ...]] = field(default_factory=OncePerKey)
    app_images: AppImageRecords = field(default_factory=AppImageRecords)
    cache_probe: CacheProbe = field(default_factory=NothingCached)
