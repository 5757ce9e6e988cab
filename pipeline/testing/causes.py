"""Why a test failed, in one line, and when to stop a job that is failing for one reason.

Each failed or errored test gets its cause (the exception's type and first line) as a
JUnit property (``slipway_cause``), and ``slipway_network`` when the cause is a
missing network: a DNS lookup that failed (``socket.gaierror``, "Temporary failure in
name resolution") or an unreachable network. The report names such tests as needing
the network instead of leaving a reader to guess from a traceback.

``EarlyStop``: when the first N tests that finish all fail or error with the same
cause (ids and numbers aside), the fault is systematic (a database that does not
exist, a missing service, a broken import): the job stops there, and the report names
the cause once instead of burying it in a log of thousands of identical tracebacks.

Copied into the test container beside the plugin (as ``slipway_pytest_causes``):
standard library only.
"""

from __future__ import annotations

import errno
import re
import socket
from dataclasses import dataclass, field
from typing import Any

CAUSE = "slipway_cause"
NETWORK = "slipway_network"
_MAX_CAUSE = 300
_NO_NETWORK = re.compile(
    r"Temporary failure in name resolution|Name or service not known|nodename nor servname|"
    r"getaddrinfo failed|No address associated with hostname|Failed to resolve|Could not resolve host|"
    r"Network is unreachable",
    re.IGNORECASE,
)
_UNREACHABLE = frozenset({errno.ENETUNREACH, errno.EHOSTUNREACH})


def _chain(exc: BaseException) -> list[BaseException]:
    """The exception and those it was raised from or during, innermost last."""
    out: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in out and len(out) < 10:
        out.append(current)
        current = current.__cause__ or current.__context__
    return out


def describe(exc: BaseException) -> str:
    """``psycopg.OperationalError: connection failed: ...``: type and first line."""
    kind = type(exc)
    name = kind.__qualname__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__qualname__}"
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    text = f"{name}: {lines[0]}" if lines else name
    return text if len(text) <= _MAX_CAUSE else text[: _MAX_CAUSE - 3] + "..."


def no_network(exc: BaseException) -> BaseException | None:
    """The exception in the chain that says there is no network, if one does."""
    for item in _chain(exc):
        if isinstance(item, socket.gaierror):
            return item
        if isinstance(item, OSError) and item.errno in _UNREACHABLE:
            return item
        if _NO_NETWORK.search(str(item)):
            return item
    return None


def properties(exc: BaseException) -> list[tuple[str, str]]:
    """The JUnit properties of a test that failed with ``exc``."""
    network = no_network(exc)
    if network is not None:
        text = describe(network)
        return [(CAUSE, text), (NETWORK, text)]
    return [(CAUSE, describe(exc))]


def normalized(cause: str) -> str:
    """The cause with what differs between tests of one fault (ids, numbers, addresses) blanked."""
    return re.sub(r"\d+", "N", re.sub(r"0x[0-9a-fA-F]+", "0x?", cause))


@dataclass
class EarlyStop:
    """Watches test outcomes in the order they finish; ``record`` returns the reason to
    stop once the first ``limit`` tests all failed or errored with one cause."""

    limit: int
    seen: set[str] = field(default_factory=set)
    first: list[dict[str, str]] = field(default_factory=list)
    decided: bool = False

    def record(self, nodeid: str, outcome: str, cause: str | None) -> dict[str, Any] | None:
        if self.decided or self.limit <= 0 or nodeid in self.seen:
            return None
        self.seen.add(nodeid)
        if outcome == "passed" or cause is None:
            self.decided = True  # a test passed: whatever fails, it is not everything
            return None
        if self.first and normalized(cause) != normalized(self.first[0]["cause"]):
            self.decided = True
            return None
        self.first.append({"test": nodeid, "outcome": outcome, "cause": cause})
        if len(self.first) < self.limit:
            return None
        self.decided = True
        return {
            "count": self.limit,
            "outcome": self.first[0]["outcome"],
            "cause": self.first[0]["cause"],
            "tests": [f["test"] for f in self.first],
        }
