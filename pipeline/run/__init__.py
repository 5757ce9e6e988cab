"""One run end to end: the composition root (``execute``) and what only it builds:
the engine (``engine``), the stores (``stores``), the job cache around every stage
kind (``jobcache``), the cache volume sync (``volumesync``), the finalizers and the
last run's durations (``lastrun``); while it runs, the events a view renders
(``events``, ``watch``); after it, what people read of the report (``publish``)."""

from pipeline.run.engine import EngineFactory, OpenedEngine, engine_factory, open_engine
from pipeline.run.execute import RunOutcome, execute, new_run_id
from pipeline.run.lastrun import last_durations
from pipeline.run.publish import publish

__all__ = [
    "EngineFactory",
    "OpenedEngine",
    "RunOutcome",
    "engine_factory",
    "execute",
    "last_durations",
    "new_run_id",
    "open_engine",
    "publish",
]
