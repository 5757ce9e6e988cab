"""``python -m pipeline init [PATH] [--check] [--force]``: a pipeline.yaml (and a
Dockerfile.test when there is none) that runs a repository's CI, from what it reads there.

Thin: ``pipeline.detect`` reads, ``pipeline.init`` decides and writes the text, the
config loader reads it back (what init writes must load), and this module prints what
was found, what was guessed and what is still a question. The only engine call is a
look-up of the local base images, so that aliases are written only where they exist.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated

import typer

from pipeline.commands.options import out, say
from pipeline.config import Config, load_config
from pipeline.detect import detect
from pipeline.engines.docker.errors import connect
from pipeline.init import (
    MARK,
    Proposal,
    check,
    local_aliases,
    lookalike,
    propose,
    render,
    render_dockerfile,
    summary,
)
from pipeline.model.errors import ConfigError, SlipwayError, UsageError

PIPELINE = "pipeline.yaml"


def _present_images() -> tuple[set[str], str | None]:
    """Tags this machine's Docker Engine has (empty, and why, when it cannot be asked)."""
    try:
        client = connect(timeout=10)
    except SlipwayError as exc:
        return set(), str(exc).splitlines()[0]
    try:
        tags = {t for image in client.images.list() for t in image.tags}
    finally:
        client.close()
    return tags, None


def _validate(text: str, folder: Path) -> None:
    """What init writes must load as it is (the model, the graph, the keys)."""
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", dir=folder, delete=False) as fh:
        fh.write(text)
        path = Path(fh.name)
    try:
        load_config(path, environ={})
    except ConfigError as exc:  # a bug of init's, not the user's: say what it wrote
        raise SlipwayError(f"init wrote a pipeline.yaml that does not load ({exc}):\n{text}") from None
    finally:
        path.unlink(missing_ok=True)


def _print_findings(p: Proposal) -> None:
    out.print("found:", markup=False)
    for line in summary(p):
        out.print(f"  {line}", markup=False)


def _print_questions(p: Proposal) -> None:
    if p.answered:
        out.print("answered by Slipway itself:", markup=False)
        for line in p.answered:
            out.print(f"  - {line}", markup=False)
    if p.questions:
        out.print("questions (also at the end of pipeline.yaml):", markup=False)
        for line in p.questions:
            out.print(f"  - {line}", markup=False)


def _say_missing_lookalikes(proposal: Proposal, tags: set[str]) -> None:
    """Name each public image with no local look-alike here: on a runner that reaches no
    registry its job cannot start, and init writes the project's version as it is (never
    another version in its place)."""
    for ref in sorted(proposal.images()):
        target = lookalike(ref)
        if target is not None and ref not in tags and target not in tags:
            say(
                f"{ref}: no local {target} on this machine; where no registry is reachable, build it "
                f"(`python -m pipeline images bootstrap {target}`) or map {ref} under images.aliases"
            )


def write(root: Path, target: Path, *, force: bool) -> int:
    if target.exists() and not force:
        raise UsageError(
            f"{target} exists: `slipway init --check {root}` compares it with the repository, "
            "`--force` replaces it"
        )
    proposal = propose(detect(root))
    tags, why_none = _present_images()
    proposal.aliases.update(local_aliases(proposal.images(), tags.__contains__))
    if why_none:
        say(f"no aliases written: the Docker Engine cannot be asked ({why_none})")
    else:
        _say_missing_lookalikes(proposal, tags)
    text = render(proposal)
    _validate(text, target.parent)
    _print_findings(proposal)
    target.write_text(text, encoding="utf-8")
    out.print(f"wrote {target}", markup=False)
    dockerfile = root / proposal.image.dockerfile
    ours = dockerfile.is_file() and MARK in dockerfile.read_text(encoding="utf-8", errors="replace")
    if not proposal.image.existing or (force and ours):
        dockerfile.write_text(render_dockerfile(proposal), encoding="utf-8")
        out.print(f"wrote {dockerfile}", markup=False)
    else:
        out.print(f"kept {dockerfile} (the project's own)", markup=False)
    _print_questions(proposal)
    out.print(f"next: python -m pipeline run --config {target} --only tests", markup=False)
    return 0


def compare(config: Config) -> int:
    proposal = propose(detect(config.project_root))
    result = check(config, proposal)
    _print_findings(proposal)
    if result.not_compared:
        out.print("not compared (init would only guess; pipeline.yaml decides):", markup=False)
        for line in result.not_compared:
            out.print(f"  - {line}", markup=False)
    if result.same:
        out.print(
            f"init --check: {config.path} agrees with the repository ({len(result.compared)} facts compared)",
            markup=False,
        )
        return 0
    out.print(f"init --check: {len(result.differences)} difference(s) with the repository:", markup=False)
    for diff in result.differences:
        out.print(f"  - {diff}", markup=False)
    return 1


def init(
    path: Annotated[Path, typer.Argument(help="The repository (default: here).")] = Path("."),
    check_only: Annotated[
        bool, typer.Option("--check", help="Compare the existing pipeline.yaml with the repository.")
    ] = False,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing pipeline.yaml.")] = False,
    config: Annotated[
        Path | None, typer.Option("--config", "-c", help="The pipeline file (default: PATH/pipeline.yaml).")
    ] = None,
) -> None:
    """Write pipeline.yaml (and Dockerfile.test) that runs the repository's CI; --check compares."""
    root = path.resolve()
    if not root.is_dir():
        raise UsageError(f"{path} is not a directory: give the repository's folder")
    target = config if config is not None else root / PIPELINE
    if check_only:
        if not target.is_file():
            raise UsageError(f"{target} does not exist: run `slipway init {path}` to write one")
        raise typer.Exit(compare(load_config(target)))
    raise typer.Exit(write(root, target, force=force))
