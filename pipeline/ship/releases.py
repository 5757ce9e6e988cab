"""Release history per environment: what was deployed, when, by digest, and how it went.

One JSON document per environment, ``releases/<env>.json`` in the project's state
folder (``config/state.py``; ``.slipway/`` next to pipeline.yaml is still read when
that has nothing), read and written only here (the S3 store can replace this file
later without touching the deploy code). Writes are atomic (temp file + rename),
so a killed run leaves the previous history, never half of one.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pipeline.cache.durable import load_json, releases_name, save_json
from pipeline.cache.store import Store
from pipeline.config.state import existing_state_file, state_file

RELEASES_DIR = "releases"

# result: "deploying" while it runs, then "success" (live), "failed" (rolled back or
# never got traffic), "superseded" is not stored: the last success is the live one.
SUCCESS = "success"
FAILED = "failed"
DEPLOYING = "deploying"


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass(frozen=True, slots=True, kw_only=True)
class Release:
    id: str
    environment: str
    target: str  # docker | command
    images: dict[str, dict[str, str]]  # bake target -> {repository, digest, ref}
    git_sha: str
    run_id: str
    stage: str
    started: str
    finished: str | None = None
    result: str = DEPLOYING
    detail: str = ""
    container: str | None = None  # docker target: the release container's name
    command: tuple[str, ...] = ()  # command target: what to run again to roll back
    rolled_back_to: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def as_data(self) -> dict[str, Any]:
        data = asdict(self)
        data["command"] = list(self.command)
        return data

    @staticmethod
    def from_data(data: dict[str, Any]) -> Release:
        known = {k: v for k, v in data.items() if k in Release.__dataclass_fields__}
        known["command"] = tuple(known.get("command") or ())
        return Release(**known)


def new_id() -> str:
    return datetime.now(UTC).strftime("%Y%m%d-%H%M%S-") + secrets.token_hex(2)


class ReleaseStore:
    """The history of every environment of one project (``base_dir`` = pipeline.yaml's folder)."""

    def __init__(self, base_dir: Path, store: Store | None = None) -> None:
        self.base_dir = base_dir
        self.dir = state_file(base_dir, RELEASES_DIR)
        # The durable store (local cache dir and/or S3) outlives an ephemeral runner;
        # the file next to pipeline.yaml stays as the copy a person can read.
        self.store = store

    def path(self, environment: str) -> Path:
        return self.dir / f"{environment}.json"

    def history(self, environment: str) -> list[Release]:
        data: Any = None
        if self.store is not None:
            data = load_json(self.store, releases_name(environment), None)
        if not isinstance(data, dict):
            found = existing_state_file(self.base_dir, f"{RELEASES_DIR}/{environment}.json")
            if found is None:
                return []
            data = json.loads(found.read_text(encoding="utf-8"))
        return [Release.from_data(r) for r in data.get("releases", [])]

    def save(self, release: Release) -> None:
        """Add ``release``, or replace the entry with its id."""
        history = [r for r in self.history(release.environment) if r.id != release.id]
        ordered = sorted([*history, release], key=lambda r: (r.started, r.id))
        self.dir.mkdir(parents=True, exist_ok=True)
        path = self.path(release.environment)
        tmp = path.with_suffix(f".tmp{os.getpid()}")
        doc = {"environment": release.environment, "releases": [r.as_data() for r in ordered]}
        tmp.write_text(json.dumps(doc, indent=2), encoding="utf-8")
        os.replace(tmp, path)
        if self.store is not None:
            save_json(self.store, releases_name(release.environment), doc)

    def current(self, environment: str, *, excluding: str | None = None) -> Release | None:
        """The live release: the latest that succeeded (a failed one was rolled back)."""
        for release in reversed(self.history(environment)):
            if release.result == SUCCESS and release.id != excluding:
                return release
        return None

    def finish(self, release: Release, result: str, detail: str, **changes: Any) -> Release:
        done = replace(release, result=result, detail=detail, finished=now(), **changes)
        self.save(done)
        return done
