"""Secrets by name: values come from the environment at run time, and are masked.

Values never enter a spec, a cache key, a report or a log: every log line goes
through a ``Redactor`` built from the values in use.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping

from pipeline.model.errors import SecretMissing

MASK = "***"


def resolve(names: Iterable[str], environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """Read each named secret from the environment; a missing one is an error."""
    env = os.environ if environ is None else environ
    values: dict[str, str] = {}
    for name in names:
        value = env.get(name)
        if value is None:
            raise SecretMissing(
                f"secret {name} is not set: export {name}=... in the environment "
                "(in CI, from the CI's secret store)"
            )
        values[name] = value
    return values


class Redactor:
    """Replaces every known secret value in text with ``***``."""

    def __init__(self, values: Iterable[str] = ()) -> None:
        # Longest first, so a secret that contains another is masked whole.
        self._values = sorted({v for v in values if len(v) >= 3}, key=len, reverse=True)

    def add(self, values: Iterable[str]) -> None:
        self._values = sorted(
            set(self._values) | {v for v in values if len(v) >= 3}, key=len, reverse=True
        )

    def __call__(self, text: str) -> str:
        for value in self._values:
            text = text.replace(value, MASK)
        return text

    def __bool__(self) -> bool:
        return bool(self._values)
