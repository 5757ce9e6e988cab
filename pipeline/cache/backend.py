"""The few raw operations a store needs from where its bytes live (a directory, a bucket).

``EntryStore`` builds entries, verification and pruning on top of these, so the local
and S3 stores share one set of rules. Backends translate their own errors (OSError,
botocore's) into ``BackendError`` at this boundary.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Protocol


class BackendError(Exception):
    """A backend operation failed; ``unreachable`` means later calls will fail too."""

    def __init__(self, message: str, *, unreachable: bool = False) -> None:
        super().__init__(message)
        self.unreachable = unreachable


@dataclass(frozen=True, slots=True)
class ObjectInfo:
    name: str
    size: int
    modified: datetime


class Backend(Protocol):
    @property
    def kind(self) -> str:
        """Short name for listings: ``local`` or ``s3``."""
        ...

    @property
    def description(self) -> str: ...

    @property
    def scratch(self) -> Path:
        """A local directory for temp files; ``store`` may move a file out of it."""
        ...

    def read(self, name: str) -> bytes | None:
        """The object's bytes, or None if there is no such object."""
        ...

    def write(self, name: str, data: bytes) -> None:
        """Create or replace an object atomically (readers see old or new, never half)."""
        ...

    def fetch(self, name: str) -> Path | None:
        """A local file with the object's bytes (in place, or a new file in ``scratch``)."""
        ...

    def store(self, name: str, src: Path) -> None:
        """Create or replace an object from ``src`` (a file in ``scratch``, consumed)."""
        ...

    def touch(self, name: str) -> None:
        """Create an empty object, or refresh its modification time."""
        ...

    def list(self, prefix: str) -> list[ObjectInfo]:
        """Every object whose name starts with ``prefix``."""
        ...

    def delete(self, name: str) -> None:
        """Remove an object; a missing one is not an error."""
        ...

    def clean_scratch(self, older_than: timedelta) -> None:
        """Remove temp files a crashed writer left behind."""
        ...
