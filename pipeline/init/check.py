"""``init --check``: does an existing pipeline.yaml run what the repository says?

A difference is meaning, not text: names, order, comments, formatting and the stages
init never writes (scans, deploys) are not compared, nor Slipway's own choices (the
databases' base name, worker counts, shards). Compared, where the repository *states*
it (a guess of init is the file's to decide, and is listed as not compared):

- test groups: each detected group is one pytest stage in the project's folder with
  the same paths and markers, and no pytest stage runs something no group is;
- databases: a group that needs the database has a PostgreSQL service and a database
  block, one that does not has none; the migrate command and, when the file sets it,
  the per-worker shape, are the repository's;
- the PostgreSQL service's major version and role, as its compose or CI file has them;
- the test image: its Python (Dockerfile.test's FROM) and its key files (every
  dependency file, so that the image is rebuilt when one changes);
- coverage: on in every test stage when the project configures it, with its source and
  fail_under;
- each frontend's scripts, and the bake targets, have a stage.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pipeline.config import Config
from pipeline.config.model import BuildStage as ConfigBuildStage
from pipeline.config.model import CommandStage, PytestStage, Service
from pipeline.detect.ci import python_of_image
from pipeline.detect.images import parse_dockerfile
from pipeline.detect.services import kind_of
from pipeline.init.proposal import Proposal, TestStage


@dataclass(frozen=True, slots=True)
class Difference:
    where: str  # pipeline.yaml:line (key), or the file
    text: str

    def __str__(self) -> str:
        return f"{self.where}: {self.text}"


@dataclass(frozen=True, slots=True)
class CheckResult:
    differences: tuple[Difference, ...]
    compared: tuple[str, ...]  # what was compared and agreed
    not_compared: tuple[str, ...]  # init's guesses: the file decides

    @property
    def same(self) -> bool:
        return not self.differences


def _norm(paths: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(sorted(p.strip("/").removeprefix("./") or "." for p in paths))


class _Checker:
    def __init__(self, config: Config, proposal: Proposal) -> None:
        self.config = config
        self.p = proposal
        self.diffs: list[Difference] = []
        self.ok: list[str] = []
        self.skipped: list[str] = []
        self.stages = [s for s in config.model.stages if isinstance(s, PytestStage)]

    def where(self, name: str) -> str:
        return self.config.where_stage(name)

    def differ(self, where: str, text: str) -> None:
        self.diffs.append(Difference(where, text))

    # --- test groups ---

    def match(self, stage: TestStage) -> PytestStage | None:
        want = (self.p.workdir.value.strip("/") or ".", _norm(stage.paths), stage.markers)
        for s in self.stages:
            if (s.workdir.strip("/") or ".", _norm(s.paths), s.markers) == want:
                return s
        return None

    def groups(self) -> list[tuple[TestStage, PytestStage]]:
        pairs = []
        guessed = [t for t in self.p.tests if t.note.startswith("guessed")]
        for test in self.p.tests:
            found = self.match(test)
            if found is not None:
                pairs.append((test, found))
            elif test in guessed:
                self.skipped.append(f"test group {test.name} ({test.note})")
            else:
                paths = ", ".join(test.paths) or "pytest's own discovery"
                marks = f" -m {test.markers!r}" if test.markers else ""
                self.differ(
                    str(self.config.path),
                    f"no pytest stage runs the test group {paths}{marks} in {self.p.workdir.value} "
                    f"({test.note})",
                )
        if not guessed:
            matched = {id(s) for _, s in pairs}
            for s in self.stages:
                if id(s) not in matched:
                    self.differ(
                        self.where(s.name),
                        f"stage {s.name} runs {list(s.paths) or 'everything'} "
                        f"in {s.workdir}, which is none of the repository's test groups "
                        f"({', '.join(t.name for t in self.p.tests)})",
                    )
        self.ok += [f"test group {t.name} is stage {s.name}" for t, s in pairs]
        return pairs

    # --- databases and services ---

    def database(self, test: TestStage, stage: PytestStage) -> None:
        plan = test.database
        if plan is None:
            if stage.database is not None:
                self.differ(
                    self.where(stage.name),
                    f"stage {stage.name} has a database; its tests use none ({test.note})",
                )
            return
        if stage.database is None:
            self.differ(
                self.where(stage.name), f"stage {stage.name} has no database block; {test.database_note}"
            )
            return
        service = self.config.model.services.get(stage.database.service)
        if service is None or kind_of(service.image)[0] != "postgres":
            self.differ(self.where(stage.name), f"stage {stage.name}'s database service is not PostgreSQL")
        if plan.migrate is not None:
            if not plan.migrate.detected:
                if stage.database.migrate is None:
                    self.skipped.append(f"migrate command of {stage.name} ({plan.migrate.note})")
            elif tuple(stage.database.migrate or ()) != plan.migrate.value:
                self.differ(
                    self.where(stage.name),
                    f"stage {stage.name} migrates with "
                    f"{list(stage.database.migrate or [])}; the repository: {list(plan.migrate.value)} "
                    f"({plan.migrate.note})",
                )
        if stage.database.per_worker not in ("auto", plan.per_worker.value):
            self.differ(
                self.where(stage.name),
                f"stage {stage.name}: per_worker {stage.database.per_worker}; "
                f"the conftest's shape is {plan.per_worker.value} ({plan.per_worker.note})",
            )
        if service is not None:
            self.postgres(stage.database.service, service)
        self.ok.append(f"database of {stage.name}")

    def postgres(self, name: str, service: Service) -> None:
        plan = next((s for s in self.p.services if s.readiness and s.readiness[0] == "pg_isready"), None)
        if plan is None or not plan.image.detected:
            if plan is not None:
                self.skipped.append(f"PostgreSQL version ({plan.image.note})")
            return
        want, have = kind_of(plan.image.value)[1], kind_of(service.image)[1]
        if want != have:
            self.differ(
                str(self.config.path),
                f"service {name} is {service.image}; the repository runs "
                f"{plan.image.value} ({plan.image.note})",
            )
        for key in ("POSTGRES_USER",):
            if plan.env.get(key, "postgres") != service.env.get(key, "postgres"):
                self.differ(
                    str(self.config.path),
                    f"service {name}: {key} {service.env.get(key, 'postgres')}; "
                    f"the repository's is {plan.env.get(key, 'postgres')}",
                )

    # --- test image ---

    def image(self) -> None:
        settings = self.config.model.images.test_base
        if settings is None:
            self.differ(str(self.config.path), "images.test_base is not set: the tests need a test image")
            return
        base = self.config.base_dir
        have = {(base / f).resolve() for f in settings.key_files}
        root = Path(self.p.root)
        for key in self.p.image.key_files:
            if (root / key.value).resolve() not in have:
                self.differ(
                    str(self.config.path),
                    f"images.test_base.key_files lacks {key.value}: the test image "
                    f"is not rebuilt when it changes ({key.note})",
                )
        dockerfile = (base / settings.context / settings.dockerfile).resolve()
        python = self.p.image.python
        try:
            bases = parse_dockerfile(dockerfile.name, dockerfile.read_text(encoding="utf-8")).bases
        except OSError:
            self.differ(str(dockerfile), "the test image's Dockerfile cannot be read")
            return
        versions = {v for image, _ in bases if (v := python_of_image(image))}
        if not python.detected:
            self.skipped.append(f"Python version ({python.note})")
        elif versions and python.value not in versions:
            self.differ(
                str(dockerfile),
                f"FROM python:{'/'.join(sorted(versions))}; the project needs {python.value} ({python.note})",
            )
        self.ok.append(f"test image (Python {python.value}, {len(self.p.image.key_files)} key files)")

    # --- coverage, frontends, builds ---

    def coverage(self, pairs: list[tuple[TestStage, PytestStage]]) -> None:
        cov = self.p.coverage
        if cov is None:
            return
        for _, stage in pairs:
            if stage.coverage is None:
                self.differ(self.where(stage.name), f"stage {stage.name} measures no coverage; {cov.note}")
                continue
            if stage.coverage.source and cov.source and tuple(stage.coverage.source) != cov.source:
                self.differ(
                    self.where(stage.name),
                    f"stage {stage.name} covers {list(stage.coverage.source)}; "
                    f"the project's source is {list(cov.source)}",
                )
            if cov.threshold is not None and stage.coverage.threshold != cov.threshold:
                self.differ(
                    self.where(stage.name),
                    f"stage {stage.name}: coverage threshold "
                    f"{stage.coverage.threshold}; the project's fail_under is {cov.threshold:g}",
                )
        self.ok.append("coverage")

    def frontends(self) -> None:
        commands = [s for s in self.config.model.stages if isinstance(s, CommandStage)]
        for front in self.p.frontends:
            stage = next(
                (s for s in commands if front.path in (s.source.strip("/"), s.workdir.strip("/"))), None
            )
            if stage is None:
                self.differ(
                    str(self.config.path),
                    f"no command stage builds the frontend in {front.path} ({front.note})",
                )
                continue
            have = {tuple(c) for c in stage.commands}
            for command in front.commands[1:]:
                if command not in have:
                    self.differ(
                        self.where(stage.name), f"stage {stage.name} does not run {' '.join(command)}"
                    )
            if not any(c[:2] == front.commands[0][:2] for c in have):
                self.differ(
                    self.where(stage.name),
                    f"stage {stage.name} does not install with {' '.join(front.commands[0][:2])}",
                )
            self.ok.append(f"frontend {front.path} is stage {stage.name}")

    def builds(self) -> None:
        targets = {t for s in self.config.model.stages if isinstance(s, ConfigBuildStage) for t in s.targets}
        for build in self.p.builds:
            if build.target not in targets:
                self.differ(
                    str(self.config.path), f"no build stage builds bake target {build.target} ({build.note})"
                )


def check(config: Config, proposal: Proposal) -> CheckResult:
    checker = _Checker(config, proposal)
    pairs = checker.groups()
    for test, stage in pairs:
        checker.database(test, stage)
    checker.image()
    checker.coverage(pairs)
    checker.frontends()
    checker.builds()
    return CheckResult(tuple(checker.diffs), tuple(checker.ok), tuple(dict.fromkeys(checker.skipped)))
