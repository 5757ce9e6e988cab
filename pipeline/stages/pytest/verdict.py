"""A test job's failures in words: failed and errored counted apart, one cause named once
when they all share it (or when the plugin stopped the job early for it), and the tests
that failed for want of a network named as such.

The causes come from the plugin's JUnit properties (``pipeline/testing/causes.py``) and
its ``slipway-plugin.json``; nothing here reads a log.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.stages.pytest.junit import CaseResult
from pipeline.testing.causes import normalized

PLUGIN_REPORT = "slipway-plugin.json"  # the plugin writes it (pipeline/testing/plugin.py)
_SHOWN = 3


def plugin_report(out: Path) -> dict[str, Any]:
    """What the plugin wrote for the job's report ({} when it wrote nothing)."""
    try:
        data = json.loads((out / PLUGIN_REPORT).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def plural(count: int, word: str) -> str:
    if word == "error":
        return f"{count} error" + ("" if count == 1 else "s")
    return f"{count} {word}"


@dataclass(frozen=True, slots=True)
class Verdict:
    """The failing tests of a job, and what they come to."""

    failing: tuple[CaseResult, ...]  # failed or errored, quarantined ones left out
    early_stop: dict[str, Any] | None

    @property
    def failed(self) -> int:
        return sum(1 for c in self.failing if c.outcome == "failed")

    @property
    def errors(self) -> int:
        return sum(1 for c in self.failing if c.outcome == "error")

    @property
    def network(self) -> list[CaseResult]:
        return [c for c in self.failing if c.network]

    def counts(self) -> str:
        parts = [plural(n, w) for n, w in ((self.failed, "failed"), (self.errors, "error")) if n]
        return ", ".join(parts)

    def common_cause(self) -> str | None:
        """The one cause every failing test shares, when there are several and they do."""
        causes = {normalized(c.cause) for c in self.failing}
        if len(self.failing) < 2 or len(causes) != 1 or "" in causes:
            return None
        return self.failing[0].cause

    def detail(self) -> str:
        """One line for the summary."""
        counts = self.counts()
        if self.early_stop is not None:
            stop = self.early_stop
            word = "errored" if stop.get("outcome") == "error" else "failed"
            return (
                f"stopped early: the first {stop.get('count')} tests all {word} with the same cause: "
                f"{stop.get('cause')} ({counts})"
            )
        common = self.common_cause()
        if common is not None:
            return f"all {counts} with the same cause: {common}"
        shown = ", ".join(c.node_id for c in self.failing[:_SHOWN])
        more = " ..." if len(self.failing) > _SHOWN else ""
        text = f"{counts}: {shown}{more}"
        if self.network:
            text += f"; {len(self.network)} need the network, which this runner does not have"
        return text

    def failures(self, reproduce: Any) -> list[dict[str, str]]:
        """The report's failure entries: test, failed or error, cause, reproduce command."""
        return [
            {
                "test": c.node_id,
                "outcome": c.outcome,
                "cause": c.cause,
                "reproduce": reproduce(c.node_id),
                **({"needs_network": "yes"} if c.network else {}),
            }
            for c in self.failing
        ]


def verdict(cases: Sequence[CaseResult], held: set[str], plugin: dict[str, Any]) -> Verdict:
    failing = tuple(
        c for c in cases if c.outcome in ("failed", "error") and c.node_id not in held
    )
    stop = plugin.get("early_stop")
    return Verdict(failing, stop if isinstance(stop, dict) else None)
