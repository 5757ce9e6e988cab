"""One-module changes and mutants of a generated workload (bench/workload/generate.py).

- A *one-module change* edits one app module without changing what it does (a
  statement inserted into its first function): what "Slipway after a one-module
  change" runs on, and what test impact analysis must answer with a few tests.
- A *mutant* is a deliberate bug: ``(path, original, replacement)``, applied by
  exact text replacement (the original occurs exactly once). Every mutant here is
  caught by at least one test of a full run; ``caught_by`` says by which groups'
  tests, and some are caught by one group only (unit, integration or api), so a
  selection that skips that group's tests misses them.

The mutants follow the project's seed (read from its ``workload.json``). Usage::

    python bench/workload/mutate.py PROJECT --list
    python bench/workload/mutate.py PROJECT --apply ID      # and --revert ID
    python bench/workload/mutate.py PROJECT --change [MODULE]  # and --unchange [MODULE]
    DATABASE_URL=... python bench/workload/mutate.py PROJECT --check [ID ...] [--python PY]

``--check`` runs each group's tests (pytest -x) with each mutant applied and
compares the groups that fail with ``caught_by``; it needs a Python with the
project's dependencies and an empty PostgreSQL database in ``DATABASE_URL``.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

try:
    from bench.workload import generate
except ImportError:  # run as a script: python bench/workload/mutate.py
    import generate  # type: ignore[no-redef]

CHANGE_MARK = "# bench: a one-module change"


@dataclass(frozen=True, slots=True)
class Mutant:
    id: str
    path: str  # relative to the project
    original: str
    replacement: str
    caught_by: tuple[str, ...]  # groups with at least one failing test when it is applied
    description: str


def project_plan(project: Path) -> generate.Plan:
    manifest = json.loads((project / generate.MANIFEST).read_text(encoding="utf-8"))
    return generate.plan(int(manifest["seed"]), int(manifest["tests"]))


def mutants(project: Path) -> list[Mutant]:
    """The mutants of ``project``, in a fixed order."""
    p = project_plan(project)
    e0, e1, e2, e3 = (p.entity(i) for i in range(4))
    unit, integration, api = "unit", "integration", "api"
    return [
        Mutant(
            "rules-rounding",
            f"app/domain/{e0.plural}.py",
            "(amount_cents * percent + 50) // 100",
            "(amount_cents * percent) // 100",
            (unit, integration, api),
            "discounts round down instead of half up",
        ),
        Mutant(
            "rules-prefix",
            f"app/domain/{e0.plural}.py",
            "if words[0] == CODE_PREFIX:",
            "if words[0] == CODE_PREFIX.lower():",
            (unit, integration, api),
            "a code given with its prefix gets it twice",
        ),
        Mutant(
            "rules-next-statuses",
            f"app/domain/{e0.plural}.py",
            "return TRANSITIONS[current]\n",
            "return TRANSITIONS[current][:1]\n",
            (unit,),
            "next_statuses forgets all but the first (no service uses it)",
        ),
        Mutant(
            "schema-code-length",
            f"app/schemas/{e0.plural}.py",
            "code: str = Field(min_length=1, max_length=40)",
            "code: str = Field(min_length=1, max_length=400)",
            (unit,),
            "the request body takes codes of any length (the rules still refuse long ones)",
        ),
        Mutant(
            "service-order",
            f"app/services/{e0.plural}.py",
            f".order_by({e0.cls}.code)",
            f".order_by({e0.cls}.code.desc())",
            (integration,),
            "lists come in reverse code order (the api tests do not check order)",
        ),
        Mutant(
            "service-total-value",
            f"app/services/{e0.plural}.py",
            f"func.sum({e0.cls}.price_cents * {e0.cls}.quantity)",
            f"func.sum({e0.cls}.price_cents)",
            (integration,),
            "the stock value ignores quantities (no endpoint reports it)",
        ),
        Mutant(
            "service-update-all-fields",
            f"app/services/{e0.plural}.py",
            "changes = data.model_dump(exclude_unset=True)",
            "changes = data.model_dump()",
            (integration, api),
            "a partial update writes every field, None included",
        ),
        Mutant(
            "router-created-status",
            f"app/routers/{e0.plural}.py",
            "status_code=201",
            "status_code=200",
            (api,),
            "create answers 200 instead of 201",
        ),
        Mutant(
            "rules-transition",
            f"app/domain/{e1.plural}.py",
            "return target in TRANSITIONS[current]",
            "return target not in TRANSITIONS[current]",
            (unit, integration, api),
            "the workflow is inverted: allowed changes are refused, the others allowed",
        ),
        Mutant(
            "rules-discount-bound",
            f"app/domain/{e1.plural}.py",
            "if not 0 <= percent <= MAX_DISCOUNT_PERCENT:",
            "if not 0 <= percent < MAX_DISCOUNT_PERCENT:",
            (unit,),
            "the largest discount is refused by the rules (no other test asks for it)",
        ),
        Mutant(
            "service-status-stored",
            f"app/services/{e1.plural}.py",
            "item.status = target",
            "item.status = item.status",
            (integration, api),
            "a status change is recorded but not stored",
        ),
        Mutant(
            "service-initial-status",
            f"app/services/{e2.plural}.py",
            'status="draft",',
            'status="pending",',
            (integration, api),
            "new rows start in a status the workflow does not know",
        ),
        Mutant(
            "service-delete",
            f"app/services/{e3.plural}.py",
            "session.delete(item)",
            "session.expunge(item)",
            (integration, api),
            "delete forgets the row instead of deleting it",
        ),
        Mutant(
            "main-not-found",
            "app/main.py",
            "status_code=404",
            "status_code=400",
            (api,),
            "a missing row answers 400 instead of 404",
        ),
    ]


def find(project: Path, mutant_id: str) -> Mutant:
    for mutant in mutants(project):
        if mutant.id == mutant_id:
            return mutant
    raise KeyError(f"no mutant {mutant_id!r}; --list shows them")


def _replace_once(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    count = text.count(old)
    if count != 1:
        raise ValueError(f"{path}: expected {old!r} exactly once, found it {count} times")
    path.write_text(text.replace(old, new), encoding="utf-8")


def apply(project: Path, mutant: Mutant) -> None:
    _replace_once(project / mutant.path, mutant.original, mutant.replacement)


def revert(project: Path, mutant: Mutant) -> None:
    _replace_once(project / mutant.path, mutant.replacement, mutant.original)


@contextmanager
def applied(project: Path, mutant: Mutant) -> Iterator[Mutant]:
    apply(project, mutant)
    try:
        yield mutant
    finally:
        revert(project, mutant)


def default_change_module(project: Path) -> str:
    """The module a bench's one-module change edits: the first entity's rules."""
    return f"app/domain/{project_plan(project).entity(0).plural}.py"


def change_module(project: Path, module: str | None = None) -> str:
    """Insert a statement that changes nothing into the first function of ``module``
    (a module without functions gets a constant at its end). Returns the module."""
    rel = module or default_change_module(project)
    path = project / rel
    text = path.read_text(encoding="utf-8")
    if CHANGE_MARK in text:
        raise ValueError(f"{rel} is already changed")
    lines = text.splitlines(keepends=True)
    functions = (ast.FunctionDef, ast.AsyncFunctionDef)
    function = next((n for n in ast.parse(text).body if isinstance(n, functions)), None)
    if function is None:
        lines.append(f"\nBENCH_CHANGED = True  {CHANGE_MARK}\n")
    else:
        body = function.body
        docstring = isinstance(body[0], ast.Expr) and isinstance(
            getattr(body[0], "value", None), ast.Constant
        )
        anchor = body[1] if docstring and len(body) > 1 else body[0]
        lines.insert(anchor.lineno - 1, " " * anchor.col_offset + f"_changed = True  {CHANGE_MARK}\n")
    path.write_text("".join(lines), encoding="utf-8")
    return rel


def unchange_module(project: Path, module: str | None = None) -> str:
    rel = module or default_change_module(project)
    path = project / rel
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    kept = [line for line in lines if CHANGE_MARK not in line]
    if len(kept) == len(lines):
        raise ValueError(f"{rel} is not changed")
    if kept and kept[-1] == "\n" and lines[-1] != "\n":  # the blank line the constant brought
        kept.pop()
    path.write_text("".join(kept), encoding="utf-8")
    return rel


def failing_groups(project: Path, python: str, groups: Sequence[str] = generate.GROUPS) -> dict[str, int]:
    """pytest's exit code per group (0: all passed), each group stopping at its first failure."""
    codes = {}
    for group in groups:
        proc = subprocess.run(
            [python, "-m", "pytest", f"tests/{group}", "-x", "-q", "-p", "no:cacheprovider"],
            cwd=project,
            capture_output=True,
            text=True,
            check=False,
        )
        codes[group] = proc.returncode
    return codes


def check(project: Path, python: str, ids: Sequence[str] = ()) -> bool:
    """Apply each mutant, run every group, compare the failing groups with ``caught_by``."""
    if not os.environ.get("DATABASE_URL"):
        raise SystemExit("--check needs DATABASE_URL (an empty PostgreSQL database)")
    selected = [m for m in mutants(project) if not ids or m.id in ids]
    baseline = failing_groups(project, python)
    if any(baseline.values()):
        raise SystemExit(f"the unmutated suite fails already: pytest exit codes {baseline}")
    ok = True
    for mutant in selected:
        start = time.monotonic()
        with applied(project, mutant):
            codes = failing_groups(project, python)
        caught = tuple(g for g in generate.GROUPS if codes[g] != 0)
        verdict = "ok" if caught == mutant.caught_by else "MISMATCH"
        ok = ok and caught == mutant.caught_by
        print(
            f"{mutant.id:<28} caught by {','.join(caught) or 'nothing':<22} "
            f"declared {','.join(mutant.caught_by):<22} {verdict} ({time.monotonic() - start:.0f} s)",
            flush=True,
        )
    return ok


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("project", type=Path)
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument("--list", action="store_true")
    action.add_argument("--apply", metavar="ID")
    action.add_argument("--revert", metavar="ID")
    action.add_argument("--change", nargs="?", const="", metavar="MODULE")
    action.add_argument("--unchange", nargs="?", const="", metavar="MODULE")
    action.add_argument("--check", nargs="*", metavar="ID")
    parser.add_argument("--python", default=sys.executable, help="the interpreter with the project's deps")
    args = parser.parse_args(argv)
    project: Path = args.project
    try:
        if args.list:
            for m in mutants(project):
                print(f"{m.id:<28} {m.path:<32} caught by {','.join(m.caught_by):<22} {m.description}")
        elif args.apply:
            apply(project, find(project, args.apply))
        elif args.revert:
            revert(project, find(project, args.revert))
        elif args.change is not None:
            print(change_module(project, args.change or None))
        elif args.unchange is not None:
            print(unchange_module(project, args.unchange or None))
        else:
            return 0 if check(project, args.python, args.check) else 1
    except (KeyError, ValueError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
