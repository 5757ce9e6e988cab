"""The watchdog that ends a call waiting on a Dagger engine that has gone away.

Pure logic: the probe is a plain coroutine here; the real one (the engine container's
state, the engine's version) runs in tests/e2e/test_dagger_e2e.py against an engine
that is killed mid-exec.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

import anyio
import pytest

from pipeline.engines.dagger.errors import SessionLost
from pipeline.engines.dagger.watchdog import ALIVE, Sign, Watchdog

TICK = 0.01
T = TypeVar("T")


class Probes:
    """Answers in order, the last one over and over; counts the looks."""

    def __init__(self, *signs: Sign) -> None:
        self.signs = list(signs)
        self.looks = 0

    async def __call__(self) -> Sign:
        self.looks += 1
        return self.signs[min(self.looks, len(self.signs)) - 1]


def run(main: Callable[[], Awaitable[T]]) -> T:
    return anyio.run(main)


def test_a_call_that_ends_returns_its_result() -> None:
    probes = Probes(ALIVE)
    dog = Watchdog(probes, every_s=TICK)

    async def call() -> str:
        await anyio.sleep(TICK * 5)
        return "done"

    async def main() -> str:
        return await dog.guarded(call)

    assert run(main) == "done"
    assert probes.looks >= 1  # it looked while the call waited, and found the engine there
    assert dog.lost is None


def test_a_call_that_fails_raises_its_own_exception_not_a_group() -> None:
    dog = Watchdog(Probes(ALIVE), every_s=TICK)

    async def call() -> None:
        raise ValueError("the job's own failure")

    async def main() -> None:
        await dog.guarded(call)

    with pytest.raises(ValueError, match="the job's own failure"):
        run(main)


def test_a_stopped_engine_cancels_the_waiting_call_at_the_first_look() -> None:
    probes = Probes(Sign(alive=False, why="the engine container e has stopped", certain=True))
    dog = Watchdog(probes, every_s=TICK)
    cancelled: list[bool] = []

    async def call() -> None:
        try:
            await anyio.sleep(60)  # what a query to a dead engine does: waits forever
        except anyio.get_cancelled_exc_class():
            cancelled.append(True)
            raise

    async def main() -> None:
        with anyio.fail_after(5):
            await dog.guarded(call)

    with pytest.raises(
        SessionLost, match="lost the Dagger engine session: the engine container e has stopped"
    ):
        run(main)
    assert cancelled == [True]
    assert probes.looks == 1


def test_one_missed_answer_is_not_a_lost_engine_two_in_a_row_are() -> None:
    miss = Sign(alive=False, why="the engine did not answer within 20s")
    recovering = Watchdog(Probes(miss, ALIVE, miss, ALIVE), every_s=TICK)

    async def waits(seconds: float) -> str:
        await anyio.sleep(seconds)
        return "ok"

    async def main_recovering() -> str:
        return await recovering.guarded(lambda: waits(TICK * 30))

    assert run(main_recovering) == "ok"
    assert recovering.lost is None

    gone = Watchdog(Probes(ALIVE, miss, miss), every_s=TICK)

    async def main_gone() -> str:
        with anyio.fail_after(5):
            return await gone.guarded(lambda: waits(60))

    with pytest.raises(SessionLost, match="did not answer within 20s"):
        run(main_gone)


def test_calls_running_together_share_the_looks() -> None:
    probes = Probes(ALIVE)
    dog = Watchdog(probes, every_s=0.05)

    async def waits() -> None:
        await anyio.sleep(0.5)

    async def main() -> None:
        async with anyio.create_task_group() as tg:
            for _ in range(5):
                tg.start_soon(dog.guarded, waits)

    run(main)
    # About one look per 0.05 s for all five calls (at most 10 in 0.5 s), not five times that.
    assert 1 <= probes.looks <= 12


def test_after_the_engine_is_lost_a_new_call_fails_at_once() -> None:
    dog = Watchdog(Probes(Sign(alive=False, why="gone", certain=True)), every_s=TICK)

    async def main() -> None:
        with anyio.fail_after(5):
            await dog.guarded(lambda: anyio.sleep(60))

    with pytest.raises(SessionLost):
        run(main)
    started: list[bool] = []

    async def call() -> None:
        started.append(True)

    async def again() -> None:
        await dog.guarded(call)

    with pytest.raises(SessionLost, match="gone"):
        run(again)
    assert started == []
