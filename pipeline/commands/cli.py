"""The command line: thin typer commands that parse, call, and return an exit code.

One top-level handler (``main``) turns expected errors into their message and
exit code (2 usage/config/engine, 1 failed, 130 interrupted) and anything
unexpected into one line saying where the traceback was written. Commands with
their own module: ``doctor``, ``reproduce``, ``describe`` (plan --calls),
``images``, ``cache``, ``gc``.
"""

from __future__ import annotations

import functools
import os
import sys
import tempfile
import traceback
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import anyio
import typer

from pipeline.commands import cache, doctor, engine, gc, images, init
from pipeline.commands.describe import describe_job
from pipeline.commands.opening import open_report, print_report_paths
from pipeline.commands.options import ConfigOpt, EngineChoice, EngineOpt, err, optional_config, out, say
from pipeline.commands.reproduce import reproduce as do_reproduce
from pipeline.commands.view import ProgressMode, open_view
from pipeline.config import Config, load_config
from pipeline.config.schema import schema_text
from pipeline.model import signals
from pipeline.model.errors import EXIT_INTERRUPTED, EXIT_USAGE, SlipwayError, UsageError
from pipeline.plan import Plan, Shard, build_plan
from pipeline.reports.merge import merge_reports as do_merge
from pipeline.reports.run_report import read_report
from pipeline.reports.summary import render_summary
from pipeline.run import execute, last_durations, open_engine, publish
from pipeline.stages.base import RunOptions
from pipeline.testing.cpus import available_cpus

app = typer.Typer(
    name="slipway",
    help="Slipway: the whole CI/CD pipeline of a Python web backend and its frontend, "
    "run the same on a laptop and in CI.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

# Jobs run at once by default: the cores, but at least this many. Most jobs wait
# (on services, builds, the network) more than they compute, and the pytest jobs
# share the cores through their own CPU budget, so a 2-core runner still runs 4.
MIN_DEFAULT_JOBS = 4

OnlyOpt = Annotated[
    list[str] | None,
    typer.Option("--only", help="Run only these stages (name, group or kind), with their needs."),
]
SkipOpt = Annotated[list[str] | None, typer.Option("--skip", help="Leave these stages out.")]
NoNeedsOpt = Annotated[bool, typer.Option("--no-needs", help="With --only: not their needs.")]
ProgressOpt = Annotated[
    ProgressMode,
    typer.Option(
        "--progress",
        help="How the run is shown: a live table (rich), plain lines (plain; in CI each job's "
        "log too, streamed and grouped), or rich on a terminal and plain elsewhere (auto).",
    ),
]
ShardOpt = Annotated[
    str | None, typer.Option("--shard", help="i/N: run shard i of N of every sharded stage.")
]


class PlanFormat(StrEnum):
    text = "text"
    json = "json"
    mermaid = "mermaid"


def default_jobs(cpus: int) -> int:
    """``--jobs`` when not given: the CPU count, at least ``MIN_DEFAULT_JOBS``."""
    return max(cpus, MIN_DEFAULT_JOBS)


def _plan(
    config: Config, only: list[str] | None, skip: list[str] | None, no_needs: bool, shard: str | None
) -> Plan:
    return build_plan(
        config,
        only=only or (),
        skip=skip or (),
        with_needs=not no_needs,
        shard=Shard.parse(shard) if shard else None,
        durations=last_durations(config),
    )


@app.command()
def plan(
    config: ConfigOpt = Path("pipeline.yaml"),
    format: Annotated[PlanFormat, typer.Option("--format", "-f")] = PlanFormat.text,
    only: OnlyOpt = None,
    skip: SkipOpt = None,
    no_needs: NoNeedsOpt = False,
    shard: ShardOpt = None,
    calls: Annotated[
        str | None, typer.Option("--calls", help="Print the engine calls JOB would make.")
    ] = None,
    engine: EngineOpt = EngineChoice.auto,
) -> None:
    """Print the jobs, their needs and the critical path, before anything runs."""
    cfg = load_config(config)
    the_plan = _plan(cfg, only, skip, no_needs, shard)
    if calls is not None:
        out.print(describe_job(cfg, the_plan.job(calls), engine.value), markup=False)
        return
    text = {
        PlanFormat.text: the_plan.to_text,
        PlanFormat.json: the_plan.to_json,
        PlanFormat.mermaid: the_plan.to_mermaid,
    }[format]()
    out.print(text, markup=False, soft_wrap=True)


@app.command()
def run(
    config: ConfigOpt = Path("pipeline.yaml"),
    engine: EngineOpt = EngineChoice.auto,
    only: OnlyOpt = None,
    skip: SkipOpt = None,
    no_needs: NoNeedsOpt = False,
    shard: ShardOpt = None,
    report_dir: Annotated[
        Path, typer.Option("--report-dir", help="Where report.json, summary.md and logs go.")
    ] = Path("slipway-report"),
    jobs: Annotated[
        int | None,
        typer.Option(
            "--jobs", "-j", help=f"Jobs at once (default: the CPU count, at least {MIN_DEFAULT_JOBS})."
        ),
    ] = None,
    fail_fast: Annotated[bool, typer.Option("--fail-fast", help="Cancel all at the first failure.")] = (
        False
    ),
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Run every job, ignore results.")] = (
        False
    ),
    progress: ProgressOpt = ProgressMode.auto,
) -> None:
    """Run the pipeline (all stages, or a selection) and write its report."""
    with signals.held():
        _run(
            config, engine, only, skip, no_needs, shard, report_dir, jobs,
            fail_fast=fail_fast, no_cache=no_cache, progress=progress,
        )


def _run(
    config: Path,
    engine: EngineChoice,
    only: list[str] | None,
    skip: list[str] | None,
    no_needs: bool,
    shard: str | None,
    report_dir: Path,
    jobs: int | None,
    *,
    fail_fast: bool,
    no_cache: bool,
    progress: ProgressMode,
) -> None:
    cfg = load_config(config)
    the_plan = _plan(cfg, only, skip, no_needs, shard)
    if jobs is not None and jobs < 1:
        raise UsageError("--jobs must be at least 1")
    # What this process may really use (a CI runner's own cgroup quota included).
    cpus = available_cpus()
    chosen = open_engine(cfg, engine.value, emit=say)
    say(f"engine: {chosen.name} ({chosen.reason})")
    options = RunOptions(no_cache=no_cache, max_parallel=jobs or default_jobs(cpus), total_cpus=cpus)
    with open_view(progress, console=err) as view:
        outcome = anyio.run(
            lambda: execute(
                cfg,
                the_plan,
                engine_factory=chosen.factory,
                report_dir=report_dir,
                options=options,
                fail_fast=fail_fast,
                on_event=view,
            )
        )
    out.print(render_summary(outcome.report), markup=False)
    print_report_paths(report_dir, outcome.views)
    raise typer.Exit(outcome.exit_code)


@app.command()
def report(
    report_dir: Annotated[Path, typer.Argument(help="The --report-dir of a run.")],
    open_html: Annotated[bool, typer.Option("--open", help="Open its report.html in a web browser.")] = False,
) -> None:
    """Print the summary of an earlier run (and open its report.html)."""
    data = read_report(report_dir)
    out.print(render_summary(data), markup=False)
    if open_html:
        open_report(data, report_dir)


@app.command()
def schema(
    check: Annotated[
        Path | None, typer.Option("--check", help="Fail if this file differs from the model.")
    ] = None,
) -> None:
    """Print the JSON Schema of pipeline.yaml, generated from the config model."""
    text = schema_text()
    if check is not None:
        if not check.exists() or check.read_text(encoding="utf-8") != text:
            raise UsageError(f"{check} is out of date: run `python -m pipeline schema > {check}`")
        out.print(f"{check} is up to date", markup=False)
        return
    sys.stdout.write(text)


@app.command()
def reproduce(
    target: Annotated[str, typer.Argument(help="A test id (path::test) or a job name.")],
    config: ConfigOpt = Path("pipeline.yaml"),
    job: Annotated[str | None, typer.Option("--job", help="The job the test ran in.")] = None,
    shell: Annotated[
        bool, typer.Option("--shell", help="An interactive shell in that container, services up.")
    ] = False,
    engine: EngineOpt = EngineChoice.auto,
    report_dir: Annotated[
        Path, typer.Option("--report-dir", help="An earlier run's report, to find a test's job.")
    ] = Path("slipway-report"),
) -> None:
    """Run one test, or one job, in the same image, services and environment as CI."""
    cfg = load_config(config)
    the_plan = _plan(cfg, None, None, False, None)
    chosen = open_engine(cfg, engine.value)
    code = anyio.run(
        lambda: do_reproduce(
            cfg,
            the_plan,
            target,
            job_name=job,
            shell=shell,
            factory=chosen.factory,
            last_report=report_dir,
            emit=lambda line: out.print(line, markup=False, highlight=False),
        )
    )
    raise typer.Exit(code)


@app.command("merge-reports")
def merge_reports(
    sources: Annotated[list[Path], typer.Argument(help="Report directories of shard runs.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Where the merged report goes.")] = Path(
        "slipway-report-merged"
    ),
    config: Annotated[
        Path, typer.Option("--config", "-c", help="The pipeline file (maps test paths for CI annotations).")
    ] = Path("pipeline.yaml"),
) -> None:
    """Merge the reports of several runs (a CI matrix of --shard i/N) into one."""
    merged = do_merge(sources, output)
    with open_view(ProgressMode.plain, console=err) as view:
        views = publish(merged, output, config=optional_config(config), on_event=view)
    out.print(render_summary(merged), markup=False)
    print_report_paths(output, views)
    raise typer.Exit(0 if merged["status"] == "success" else 1)


app.add_typer(images.app, name="images")
app.add_typer(engine.app, name="engine")
app.command("doctor")(doctor.doctor)
app.command("init")(init.init)
app.command("gc")(gc.gc)
app.add_typer(cache.app, name="cache")


@functools.cache
def _command() -> typer.core.TyperGroup:
    """The click command typer builds from the functions' signatures, built once: it
    costs tens of milliseconds, which the tests and the config fuzzer (thousands of
    ``main`` calls in one process) would pay on every call."""
    command = typer.main.get_command(app)
    assert isinstance(command, typer.core.TyperGroup)
    return command


def _usage_error(exc: typer.TyperException) -> int:
    """A bad command line (unknown command or option, extra or missing argument, bad
    value): typer's usage text and its message, exit 2.

    typer carries its own copy of click, so its parse errors are ``typer.TyperException``
    (``ClickException`` under it), not the click package's: catching click's let every
    usage error fall through to "internal error".
    """
    show = getattr(exc, "show", None)
    if callable(show):
        show()  # "Usage: ... Try '... --help' for help. Error: ..."
    else:
        err.print(f"error: {exc.format_message()}", markup=False, style="red")
    return EXIT_USAGE


def main(argv: list[str] | None = None) -> int:
    """Entry point: the one place that turns errors into messages and exit codes."""
    try:
        # Without standalone mode click returns a typer.Exit's code instead of raising it.
        code = _command().main(args=argv, standalone_mode=False)
    except SlipwayError as exc:
        err.print(f"error: {exc}", markup=False, style="red")
        return exc.exit_code
    except typer.Exit as exc:
        return int(exc.exit_code)
    except (KeyboardInterrupt, typer.Abort):
        err.print("interrupted", style="yellow")
        return EXIT_INTERRUPTED
    except typer.TyperException as exc:
        return _usage_error(exc)
    except Exception as exc:  # a bug: say so and where the traceback is
        fd, name = tempfile.mkstemp(prefix="slipway-crash-", suffix=".txt")
        with os.fdopen(fd, "w") as fh:
            fh.write("".join(traceback.format_exception(exc)))
        err.print(
            f"internal error: {type(exc).__name__}: {exc}\n"
            f"this is a bug in Slipway; the traceback is in {name}",
            markup=False,
            style="red",
        )
        return 1
    return code if isinstance(code, int) else 0
