"""A ``Proposal`` as pipeline.yaml text: every choice with its note, the open questions at
the end as comments (and printed by the command), never a silent guess."""

from __future__ import annotations

from pipeline.init.proposal import DatabasePlan, Proposal, TestStage
from pipeline.init.yamltext import Writer, flow, scalar

HEADER = """\
pipeline.yaml for {name}, written by `slipway init` from what it read in this repository.
Beside each choice: "detected at FILE:LINE" (read from your files) or "guessed" (assumed,
and why). Questions it could not answer are at the end. `slipway init --check` compares
this file with the repository again; `slipway schema` prints the format."""


def _images(w: Writer, p: Proposal) -> None:
    image = p.image
    w.blank()
    w.key(0, "images")
    w.key(2, "test_base")
    made = "your own test image" if image.existing else "written by init"
    w.comment(
        f"{image.dockerfile}, {made}: Python {image.python.value} ({image.python.note}); "
        f"dependencies with {image.manager.value} ({image.manager.note})",
        4,
    )
    w.key(4, "dockerfile", scalar(image.dockerfile))
    w.key(4, "context", ".")
    w.key(4, "key_files", note="the files its dependencies come from: the image is rebuilt when they change")
    for key in image.key_files:
        w.item(6, scalar(key.value), key.note)
    if p.aliases:
        w.key(2, "aliases")
        w.comment(
            "This machine reaches no image registry: these public names run the local look-alikes "
            "`slipway images bootstrap` built. Remove on a runner that pulls from Docker Hub.",
            4,
        )
        for logical, local in p.aliases.items():
            w.key(4, logical, scalar(local))
    if p.bake_file:
        w.key(2, "bake", scalar(p.bake_file), "detected: the image builds")


def _services(w: Writer, p: Proposal) -> None:
    if not p.services:
        return
    w.blank()
    w.key(0, "services")
    for svc in p.services:
        w.key(2, svc.name, note=svc.image.note)
        w.key(4, "image", scalar(svc.image.value))
        if svc.env:
            w.key(4, "env")
            w.mapping(6, sorted(svc.env.items()))
        if svc.port:
            w.key(4, "port", str(svc.port))
        if svc.readiness:
            w.key(4, "readiness")
            w.key(6, "command", flow(svc.readiness))
            w.key(6, "timeout_s", "60")


def _database(w: Writer, db: DatabasePlan) -> None:
    w.key(4, "database")
    for line in db.notes:
        w.comment(line, 6)
    w.key(6, "service", scalar(db.service))
    w.key(6, "name", scalar(db.name.value), db.name.note)
    if db.migrate is not None:
        w.key(6, "migrate", flow(db.migrate.value), db.migrate.note)
        if db.migrate_cwd:
            w.key(6, "migrate_cwd", scalar(db.migrate_cwd))
    w.key(6, "per_worker", scalar(db.per_worker.value), db.per_worker.note)
    if db.env is not None:
        w.key(6, "env", note=f"the variables the code reads: {db.env.note}")
        w.mapping(8, sorted(db.env.value.items()))


def _test_stage(w: Writer, p: Proposal, stage: TestStage) -> None:
    w.blank()
    w.comment(stage.note, 2)
    w.item(2, f"name: {scalar(stage.name)}")
    w.key(4, "kind", "pytest")
    w.key(4, "group", "tests")
    if p.workdir.value not in ("", "."):
        w.key(4, "workdir", scalar(p.workdir.value), p.workdir.note)
    if stage.paths:
        w.key(4, "paths", flow(stage.paths))
    if stage.markers:
        w.key(4, "markers", scalar(stage.markers))
    if p.pythonpath is not None:
        w.key(4, "env", note=p.pythonpath.note)
        w.key(6, "PYTHONPATH", scalar(":".join(p.pythonpath.value)))
    if stage.services:
        w.key(4, "services", flow(stage.services), stage.database_note)
    if stage.database is not None:
        _database(w, stage.database)
    if p.coverage is not None:
        cov = p.coverage
        parts = []
        if cov.source:
            parts.append(f"source: {flow(cov.source)}")
        if cov.threshold is not None:
            parts.append(f"threshold: {cov.threshold:g}")
        w.key(4, "coverage", "{" + ", ".join(parts) + "}", cov.note)


def _stages(w: Writer, p: Proposal) -> None:
    w.blank()
    w.key(0, "stages")
    for stage in p.tests:
        _test_stage(w, p, stage)
    for front in p.frontends:
        w.blank()
        w.comment(front.note, 2)
        w.item(2, f"name: {scalar(front.name)}")
        w.key(4, "kind", "command")
        w.key(4, "image", scalar(front.image.value), front.image.note)
        w.key(4, "source", scalar(front.path))
        w.key(4, "workdir", scalar(front.path))
        w.key(4, "caches")
        w.item(6, "{name: npm, path: /root/.npm, sharing: shared}")
        w.key(4, "commands")
        for command in front.commands:
            w.item(6, flow(command))
    for build in p.builds:
        w.blank()
        w.comment(build.note, 2)
        w.item(2, f"name: {scalar(build.name)}")
        w.key(4, "kind", "build")
        w.key(4, "group", "builds")
        w.key(4, "targets", flow([build.target]))
        w.key(4, "push", "false", "set registry: and push: true to publish it")


def render(p: Proposal) -> str:
    """pipeline.yaml for the proposal."""
    w = Writer()
    w.comment(HEADER.format(name=p.project_name.value))
    w.key(0, "version", "1")
    w.key(0, "project")
    w.key(2, "name", scalar(p.project_name.value), p.project_name.note)
    w.key(2, "root", ".")
    _images(w, p)
    _services(w, p)
    _stages(w, p)
    w.blank()
    w.comment("Deploy stages are yours to add: init does not guess where you deploy (see the README).")
    if p.answered:
        w.blank()
        w.comment("Answered by Slipway itself:")
        for line in p.answered:
            w.comment(f"  - {line}")
    if p.questions:
        w.blank()
        w.comment("Questions init could not answer from the files (answer them by editing this file):")
        for line in p.questions:
            w.comment(f"  - {line}")
    return w.text()
