"""What every detector returns: a value, where it was read, and how sure we are."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, Literal, TypeVar

T = TypeVar("T")

Certainty = Literal["detected", "guessed"]


@dataclass(frozen=True, slots=True)
class Source:
    """A place in the repository: a path relative to its root, and a 1-based line."""

    path: str
    line: int | None = None

    def __str__(self) -> str:
        return f"{self.path}:{self.line}" if self.line else self.path


@dataclass(frozen=True, slots=True)
class Finding(Generic[T]):
    """One fact about the repository.

    ``detected`` means it was read from the project's own files; ``guessed`` means
    it was inferred (a default, a convention, a hint), and ``why`` says from what.
    ``source`` is None only for a guess that rests on nothing in the repository.
    """

    value: T
    source: Source | None
    certainty: Certainty
    why: str

    @property
    def detected(self) -> bool:
        return self.certainty == "detected"

    def __str__(self) -> str:
        where = f" at {self.source}" if self.source else ""
        return f"{self.value!r} ({self.certainty}{where}: {self.why})"


def detected(value: T, source: Source | None, why: str) -> Finding[T]:
    return Finding(value, source, "detected", why)


def guessed(value: T, source: Source | None, why: str) -> Finding[T]:
    return Finding(value, source, "guessed", why)


@dataclass(frozen=True, slots=True)
class Question:
    """Something unknown or ambiguous that a person should answer; never silently guessed."""

    topic: str
    text: str
    sources: tuple[Source, ...] = ()
    options: tuple[str, ...] = ()

    def __str__(self) -> str:
        where = f" ({', '.join(map(str, self.sources))})" if self.sources else ""
        opts = f" [{' / '.join(self.options)}]" if self.options else ""
        return f"{self.topic}: {self.text}{where}{opts}"
