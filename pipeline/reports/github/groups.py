"""Collapsible log groups: ``::group::`` in GitHub, sections in GitLab, ``--- NAME ---``
headers elsewhere (Woodpecker), and GitHub's stop-commands guard for streamed logs."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from typing import Literal

from pipeline.reports.github.commands import workflow_command

Flavor = Literal["github", "gitlab", "plain"]


def ci_flavor(env: Mapping[str, str] | None = None) -> Flavor:
    """Which log markup the CI reading our output understands."""
    env = os.environ if env is None else env
    if env.get("GITHUB_ACTIONS") == "true":
        return "github"
    if env.get("GITLAB_CI"):
        return "gitlab"
    return "plain"


def _section_name(name: str) -> str:
    # GitLab section names allow letters, digits, "_", "." and "-" only.
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_") or "section"


def group_start(name: str, flavor: Flavor, *, now: float = 0.0) -> str:
    """The line that opens a collapsible group (a plain header where there is none)."""
    if flavor == "github":
        return workflow_command("group", name)
    if flavor == "gitlab":
        clean = name.replace("\r", " ").replace("\n", " ")
        return f"\x1b[0Ksection_start:{int(now)}:{_section_name(name)}[collapsed=true]\r\x1b[0K{clean}"
    return f"--- {name} ---"


def group_end(name: str, flavor: Flavor, *, now: float = 0.0) -> str | None:
    """The line that closes the group; None where nothing closes it (plain logs)."""
    if flavor == "github":
        return "::endgroup::"
    if flavor == "gitlab":
        return f"\x1b[0Ksection_end:{int(now)}:{_section_name(name)}\r\x1b[0K"
    return None


def stop_commands(token: str) -> str:
    """Stop GitHub from reading workflow commands until ``resume_commands(token)``: a
    test's output that prints ``::error::`` or ``::endgroup::`` must stay plain text."""
    return f"::stop-commands::{token}"


def resume_commands(token: str) -> str:
    return f"::{token}::"


@contextmanager
def log_group(
    name: str,
    *,
    flavor: Flavor,
    write: Callable[[str], object] = print,
    guard_token: str | None = None,
    clock: Callable[[], float] | None = None,
) -> Iterator[None]:
    """Wrap the lines written inside in a group. With ``guard_token`` (GitHub only),
    workflow commands inside are not obeyed, so a streamed log cannot forge any."""
    now = clock or (lambda: datetime.now().timestamp())
    write(group_start(name, flavor, now=now()))
    token = guard_token if flavor == "github" else None
    if token:
        write(stop_commands(token))
    try:
        yield
    finally:
        if token:
            write(resume_commands(token))
        end = group_end(name, flavor, now=now())
        if end is not None:
            write(end)
