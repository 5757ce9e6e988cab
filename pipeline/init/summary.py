"""What ``init`` found, in a few lines a person reads (and the closing note of issue 13 quotes)."""

from __future__ import annotations

from pipeline.init.proposal import Proposal


def summary(p: Proposal) -> list[str]:
    image = p.image
    lines = [
        f"project: {p.project_name.value} in {p.workdir.value} ({p.workdir.note})",
        f"python: {image.python.value} ({image.python.note})",
        f"dependencies: {image.manager.value} ({image.manager.note}); installed as the CI does: "
        + "; ".join(" ".join(a) for a in image.install.value),
    ]
    for stage in p.tests:
        what = ", ".join(stage.paths) or "all tests"
        if stage.markers:
            what += f" -m {stage.markers!r}"
        lines.append(f"test group {stage.name}: {what} ({stage.note})")
    for svc in p.services:
        lines.append(f"service {svc.name}: {svc.image.value} ({svc.image.note})")
    db = next((s.database for s in p.tests if s.database is not None), None)
    if db is not None:
        migrate = " ".join(db.migrate.value) if db.migrate else "none"
        lines.append(
            f"database: {db.notes[0]}; migrate: {migrate}; per worker: {db.per_worker.value} "
            f"({db.per_worker.note})"
        )
    if p.coverage is not None:
        lines.append(f"coverage: source {list(p.coverage.source) or 'from its config'} ({p.coverage.note})")
    if p.pythonpath is not None:
        lines.append(f"import roots on PYTHONPATH: {':'.join(p.pythonpath.value)}")
    lines += [f"frontend {f.path}: {f.image.value} ({f.note})" for f in p.frontends]
    lines += [f"build {b.target} ({b.note})" for b in p.builds]
    return lines
