"""Push a built image to the registry and return the digest the registry stored.

Building and pushing are the engine's (``Engine.build_image``, ``Engine.publish``):
the Docker daemon pushes the tag it built; Dagger publishes the container it
built, with the password as a Dagger secret. Here, the part that is the same on
both: the password is masked in every log before anything is pushed.
"""

from __future__ import annotations

from pathlib import Path

from pipeline.engines.base import Engine
from pipeline.model.secrets import Redactor
from pipeline.model.spec import Credentials


async def publish(
    engine: Engine,
    built: str,
    dest: str,
    *,
    credentials: Credentials | None,
    log_path: Path,
    redactor: Redactor,
) -> str:
    """Push ``built`` as ``dest`` (host/repo:tag); returns ``sha256:...``."""
    if credentials is not None:
        redactor.add([credentials.password])
    return await engine.publish(built, dest, credentials=credentials, log_path=log_path)
