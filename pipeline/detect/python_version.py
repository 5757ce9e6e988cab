"""Which Python the tests need: exact pins first, then what requires-python allows.

Pins, most telling first: ``.python-version``, the CI's Python (setup-python /
setup-uv, a ``python:X.Y`` job image), the Dockerfiles' ``FROM python:X.Y``,
``runtime.txt`` and Pipfile's ``python_version``. ``requires-python`` (or poetry's
``python = "^3.11"``) filters them, and alone gives a guess.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from packaging.specifiers import InvalidSpecifier, SpecifierSet

from pipeline.detect.ci import python_of_image
from pipeline.detect.context import Context
from pipeline.detect.findings import Finding, Question, Source, detected, guessed
from pipeline.detect.images import dockerfiles
from pipeline.detect.repo import under

KNOWN = tuple(f"3.{minor}" for minor in range(8, 16))
# The oldest Python still maintained when this was written; the floor of a guess.
OLDEST_MAINTAINED = "3.10"
_VERSION = re.compile(r"^(?:python|cpython|py)?-?(\d+)\.(\d+)")


@dataclass(frozen=True, slots=True)
class PythonVersion:
    version: Finding[str]  # "3.11"
    requires: Finding[str] | None  # the specifier as written, e.g. ">=3.11,<3.12"
    pins: tuple[Finding[str], ...]  # every exact version stated, most telling first
    questions: tuple[Question, ...]


def minor(text: str) -> str | None:
    """``3.11`` from ``3.11``, ``3.11.7``, ``python-3.11.4``, ``cpython@3.11``, ``3.14t``."""
    m = _VERSION.match(text.strip().replace("cpython@", ""))
    return f"{m.group(1)}.{m.group(2)}" if m else None


def poetry_to_pep440(constraint: str) -> str:
    """Poetry's ``^3.11`` / ``~3.11`` / ``3.11.*`` as a PEP 440 specifier set (one alternative)."""
    parts = []
    for raw in re.split(r"\s*,\s*|\s+(?=[<>=!~^])", constraint.strip()):
        item = raw.strip()
        if not item or item == "*":
            continue
        if item.startswith("^"):
            nums = [int(n) for n in item[1:].split(".")]
            upper = [nums[0] + 1] if nums[0] != 0 else [0, nums[1] + 1]
            parts += [f">={item[1:]}", f"<{'.'.join(map(str, upper))}"]
        elif item.startswith("~") and not item.startswith("~="):
            fields = item[1:].split(".")
            bound = f"{fields[0]}.{int(fields[1]) + 1}" if len(fields) > 1 else f"{int(fields[0]) + 1}"
            parts += [f">={item[1:]}", f"<{bound}"]
        elif item[0].isdigit():
            parts.append(f"=={item}")
        else:
            parts.append(item)
    return ",".join(parts)


def allowed(spec: str) -> list[str]:
    """The known minor versions a specifier (PEP 440, poetry's, or ``a || b``) allows."""
    out = []
    for alternative in spec.split("||"):
        text = alternative.strip()
        if (any(text.startswith(c) for c in ("^", "~")) and not text.startswith("~=")) or re.match(
            r"^\d", text
        ):
            text = poetry_to_pep440(text)
        try:
            sset = SpecifierSet(text)
        except InvalidSpecifier:
            continue
        for version in KNOWN:
            if version not in out and any(sset.contains(f"{version}.{p}", prereleases=True) for p in (0, 99)):
                out.append(version)
    return sorted(out, key=lambda v: int(v.split(".")[1]))


def _requires(ctx: Context) -> Finding[str] | None:
    repo = ctx.repo
    rel = ctx.path("pyproject.toml")
    data = repo.toml(rel) or {}
    spec = data.get("project", {}).get("requires-python")
    if isinstance(spec, str):
        return detected(spec, repo.toml_source(rel, "project", "requires-python"), "requires-python")
    poetry = data.get("tool", {}).get("poetry", {}).get("dependencies", {}).get("python")
    if isinstance(poetry, str):
        return detected(
            poetry, repo.toml_source(rel, "tool.poetry.dependencies", "python"), "poetry's python constraint"
        )
    cfg = repo.ini(ctx.path("setup.cfg"))
    if cfg is not None and cfg.has_option("options", "python_requires"):
        return detected(
            cfg.get("options", "python_requires").strip(),
            repo.source(ctx.path("setup.cfg"), r"python_requires"),
            "setup.cfg python_requires",
        )
    setup_py = repo.text(ctx.path("setup.py")) or ""
    m = re.search(r"python_requires\s*=\s*[\"']([^\"']+)", setup_py)
    if m:
        return detected(
            m.group(1), repo.source(ctx.path("setup.py"), r"python_requires"), "setup.py python_requires"
        )
    return None


def _pins(ctx: Context) -> list[Finding[str]]:
    repo = ctx.repo
    pins: list[Finding[str]] = []
    for folder in dict.fromkeys((ctx.project, ".")):
        rel = repo.join(folder, ".python-version")
        text = repo.text(rel)
        if text:
            for number, line in enumerate(text.splitlines(), 1):
                version = minor(line) if line.strip() and not line.startswith("#") else None
                if version:
                    pins.append(detected(version, Source(rel, number), ".python-version"))
                    break
    for job in ctx.ci.jobs:
        for value, src in job.python_versions:
            version = minor(value)
            if version:
                pins.append(detected(version, src, f"{job.system} job {job.name!r}: python-version {value}"))
        for image, src in job.images:
            version = python_of_image(image)
            if version:
                pins.append(detected(version, src, f"{job.system} job {job.name!r}: image {image}"))
        for command in job.commands:
            for argv in command.argvs():
                # uv python install 3.12 / uv sync --python 3.12 / uv venv -p 3.12
                if argv[:1] == ("uv",):
                    for i, arg in enumerate(argv[:-1]):
                        nxt = argv[i + 1]
                        if (arg in ("--python", "-p") or argv[1:3] == ("python", "install")) and minor(nxt):
                            pins.append(
                                detected(
                                    minor(nxt) or "",
                                    command.source,
                                    f"{job.system} job {job.name!r}: {command.text}",
                                )
                            )
                            break
    for dockerfile in dockerfiles(ctx.repo):
        if not (under(dockerfile.path, ctx.project) or under(ctx.project, _folder(dockerfile.path))):
            continue
        for image, from_line in dockerfile.bases:
            version = python_of_image(image)
            if version:
                pins.append(detected(version, Source(dockerfile.path, from_line), f"FROM {image}"))
    rel = ctx.path("runtime.txt")
    if repo.text(rel):
        version = minor((repo.text(rel) or "").strip())
        if version:
            pins.append(detected(version, Source(rel, 1), "runtime.txt"))
    pipfile = repo.toml(ctx.path("Pipfile")) or {}
    pv = pipfile.get("requires", {}).get("python_version")
    if isinstance(pv, str) and minor(pv):
        pins.append(
            detected(
                minor(pv) or "", repo.source(ctx.path("Pipfile"), "python_version"), "Pipfile python_version"
            )
        )
    return pins


def _folder(path: str) -> str:
    return path.rsplit("/", 1)[0] if "/" in path else "."


def detect_python_version(ctx: Context) -> PythonVersion:
    requires = _requires(ctx)
    pins = _pins(ctx)
    questions: list[Question] = []
    ok = allowed(requires.value) if requires else list(KNOWN)
    if requires and not ok:
        questions.append(
            Question(
                "python",
                f"cannot read the Python constraint {requires.value!r}",
                (requires.source,) if requires.source else (),
            )
        )
        ok = list(KNOWN)
    fitting = [p for p in pins if p.value in ok]
    for pin in pins:
        if pin not in fitting and requires is not None:
            questions.append(
                Question(
                    "python",
                    f"{pin.why} says {pin.value}, which {requires.why} {requires.value!r} does not allow",
                    tuple(s for s in (pin.source, requires.source) if s),
                )
            )
    version: Finding[str]
    if fitting:
        distinct = list(dict.fromkeys(p.value for p in fitting))
        chosen = fitting[0]
        version = detected(chosen.value, chosen.source, chosen.why)
        if len(distinct) > 1:
            questions.append(
                Question(
                    "python",
                    f"several Python versions are named ({', '.join(distinct)}); "
                    f"{chosen.value} from {chosen.why} was taken",
                    tuple(p.source for p in fitting if p.source),
                    tuple(distinct),
                )
            )
    elif requires is not None:
        floor = [v for v in ok if int(v.split(".")[1]) >= int(OLDEST_MAINTAINED.split(".")[1])] or ok
        if len(ok) == 1:
            version = detected(
                ok[0], requires.source, f"{requires.why} {requires.value!r} allows only {ok[0]}"
            )
        else:
            version = guessed(
                floor[0],
                requires.source,
                f"the oldest maintained version {requires.why} {requires.value!r} allows",
            )
            questions.append(
                Question(
                    "python",
                    f"only {requires.why} {requires.value!r} says which Python; {floor[0]} was guessed",
                    (requires.source,) if requires.source else (),
                    tuple(floor),
                )
            )
    else:
        version = guessed("3.11", None, "nothing in the repository names a Python version")
        questions.append(
            Question(
                "python",
                "no Python version found (requires-python, .python-version, CI, Dockerfile); "
                "3.11 was guessed",
            )
        )
    return PythonVersion(version, requires, tuple(pins), tuple(questions))
