"""The pytest commands of the project's CI: what runs pytest, with which paths, -m and -n."""

from __future__ import annotations

from dataclasses import dataclass

from pipeline.detect.ci import Command
from pipeline.detect.context import Context
from pipeline.detect.findings import Source
from pipeline.detect.repo import relative, under

# pytest options that take a value (so the value is not a path).
_VALUE_OPTS = frozenset(
    {
        "-m",
        "-n",
        "-k",
        "-p",
        "-c",
        "-o",
        "-W",
        "--numprocesses",
        "--rootdir",
        "--junitxml",
        "--junit-xml",
        "--dist",
        "--maxfail",
        "--durations",
        "--tb",
        "--ignore",
        "--deselect",
        "--basetemp",
        "--log-level",
        "--timeout",
        "--reruns",
        "--splits",
        "--group",
        "--ds",
        "--cov-report",
        "--cov-config",
        "--cov-fail-under",
        "--confcutdir",
        "--override-ini",
        "--import-mode",
        "--maxprocesses",
        "--splitting-algorithm",
        "--durations-path",
        "--store-durations",
        "--random-order-seed",
        "-r",
    }
)


@dataclass(frozen=True, slots=True)
class PytestRun:
    """One pytest invocation in the CI."""

    prefix: tuple[str, ...]  # what runs pytest: (), ("poetry", "run"), ("coverage", "run", "-m") ...
    args: tuple[str, ...]  # pytest's own arguments
    paths: tuple[str, ...]  # relative to the project
    markers: str | None
    workers: str | None  # -n
    cov: bool  # --cov given (pytest-cov)
    source: Source
    job: str


def _pytest_index(argv: tuple[str, ...]) -> int | None:
    for i, arg in enumerate(argv):
        base = arg.rsplit("/", 1)[-1]
        if base in ("pytest", "py.test") and (i == 0 or argv[i - 1] not in ("-m",)):
            return i
        if arg == "-m" and i + 1 < len(argv) and argv[i + 1] == "pytest" and i > 0:
            return i + 1
    return None


def pytest_runs(ctx: Context) -> list[PytestRun]:
    out = []
    for command in ctx.ci.commands():
        for argv in command.argvs():
            index = _pytest_index(argv)
            if index is None:
                continue
            prefix = argv[:index]
            # `python -m pytest` / `coverage run -m pytest`: the -m belongs to the prefix.
            run = _parse_run(ctx, command, prefix, argv[index + 1 :])
            if run is not None:
                out.append(run)
    return out


def _parse_run(
    ctx: Context, command: Command, prefix: tuple[str, ...], args: tuple[str, ...]
) -> PytestRun | None:
    if not (under(command.cwd, ctx.project) or under(ctx.project, command.cwd)):
        return None
    paths: list[str] = []
    markers = workers = None
    cov = False
    i = 0
    while i < len(args):
        arg = args[i]
        value: str | None = None
        opt = arg
        if arg.startswith("--") and "=" in arg:
            opt, value = arg.split("=", 1)
        elif arg[:2] in ("-m", "-n", "-k", "-p", "-c", "-o") and len(arg) > 2:
            opt, value = arg[:2], arg[2:]
        elif arg in _VALUE_OPTS and i + 1 < len(args):
            value = args[i + 1]
            i += 1
        if opt == "-m":
            markers = value
        elif opt in ("-n", "--numprocesses"):
            workers = value
        elif opt.startswith("--cov") and opt in ("--cov",):
            cov = True
        elif not arg.startswith("-") and value is None:
            joined = ctx.repo.join(command.cwd, arg.split("::")[0])
            paths.append(relative(joined, ctx.project))
        i += 1
    return PytestRun(prefix, args, tuple(paths), markers, workers, cov, command.source, command.job)
