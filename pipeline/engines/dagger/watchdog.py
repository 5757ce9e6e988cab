"""Whether the engine is still there while a call waits on it.

dagger-io waits on a query with no deadline (a test job may rightly run for an hour),
and when the engine dies under a running ``with_exec`` nothing tells the session: the
query waits forever (found by ``tests/e2e/test_dagger_e2e.py``: an engine container
killed mid-exec left the run hanging, never writing its report). So each call that
waits on the engine runs beside a watchdog that looks every ``HEARTBEAT_S``, one look
at a time for all the calls of the run:

- a definite sign (the engine's container has stopped) ends it at once;
- a doubtful one (the engine did not answer ``version`` in time) must come
  ``MISSES`` times in a row: a busy engine still answers, a slow one gets a second look.

Then the waiting calls are cancelled and raise ``SessionLost``: the run stops, writes
its report and exits 2. The probe itself is the session's (``session.py``): this
module knows nothing of Dagger, so it is tested with plain coroutines.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

import anyio

from pipeline.engines.dagger.errors import SessionLost

HEARTBEAT_S = 10.0
MISSES = 2

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Sign:
    """What one look at the engine saw."""

    alive: bool
    why: str = ""
    certain: bool = False  # a stopped container is certain; a missed answer is not


ALIVE = Sign(alive=True)
Probe = Callable[[], Awaitable[Sign]]


class Watchdog:
    """Cancels the calls it guards once the engine is found gone."""

    def __init__(self, probe: Probe, *, every_s: float = HEARTBEAT_S, misses: int = MISSES) -> None:
        self._probe = probe
        self._every_s = every_s
        self._misses_allowed = misses
        self._misses = 0
        self._last_look = -math.inf
        self._looking = anyio.Lock()
        self.lost: str | None = None

    async def guarded(self, call: Callable[[], Awaitable[T]]) -> T:
        """``call()``'s result or exception as it is, or ``SessionLost`` if the engine went away."""
        if self.lost is not None:
            raise SessionLost(f"lost the Dagger engine session: {self.lost}")
        result: list[T] = []
        failure: list[Exception] = []
        async with anyio.create_task_group() as tg:

            async def body() -> None:
                # Kept out of the task group's exception group, raised as it is below.
                try:
                    result.append(await call())
                except Exception as exc:
                    failure.append(exc)
                finally:
                    tg.cancel_scope.cancel()

            tg.start_soon(body)
            await self._until_lost()
            tg.cancel_scope.cancel()
        if failure:
            raise failure[0]
        if result:
            return result[0]
        raise SessionLost(f"lost the Dagger engine session: {self.lost}")

    async def _until_lost(self) -> None:
        while self.lost is None:
            await anyio.sleep(self._every_s)
            await self._look()

    async def _look(self) -> None:
        if self._looking.locked():
            return  # another call's watchdog is looking for all of them
        async with self._looking:
            if anyio.current_time() - self._last_look < self._every_s:
                return
            sign = await self._probe()
            self._last_look = anyio.current_time()
        if sign.alive:
            self._misses = 0
            return
        self._misses += 1
        if sign.certain or self._misses >= self._misses_allowed:
            self.lost = sign.why
