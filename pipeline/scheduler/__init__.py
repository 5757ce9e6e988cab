"""Running the DAG with anyio: the one door to the scheduler layer."""

from pipeline.scheduler.runner import JobRecord, Listener, Runner, SchedulerResult, run_plan

__all__ = ["JobRecord", "Listener", "Runner", "SchedulerResult", "run_plan"]
