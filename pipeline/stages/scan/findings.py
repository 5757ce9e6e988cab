"""Scanner output (JSON) -> findings; a scanner that produced none is ``unavailable``.

Every scanner's severities map onto one scale (low < medium < high < critical)
so one policy line (``fail_on: high``) reads the same for all of them.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

SEVERITIES = ("low", "medium", "high", "critical")


@dataclass(frozen=True, slots=True, kw_only=True)
class Finding:
    scanner: str
    id: str
    severity: str
    location: str
    message: str

    def as_data(self) -> dict[str, str]:
        return asdict(self)


class Unavailable(Exception):
    """The scanner ran but gave no usable result (e.g. its vulnerability DB is unreachable)."""


def rank(severity: str) -> int:
    return SEVERITIES.index(severity)


def _load(text: str, scanner: str) -> Any:
    try:
        return json.loads(text)
    except ValueError as exc:
        raise Unavailable(f"{scanner} gave no JSON result") from exc


# hadolint levels: error / warning / info / style.
_HADOLINT = {"error": "high", "warning": "medium", "info": "low", "style": "low"}


def hadolint(text: str, root: str) -> list[Finding]:
    data = _load(text, "hadolint")
    if not isinstance(data, list):
        raise Unavailable("hadolint: unexpected JSON")
    return [
        Finding(
            scanner="hadolint",
            id=str(item.get("code", "")),
            severity=_HADOLINT.get(str(item.get("level")), "low"),
            location=f"{_rel(item.get('file', ''), root)}:{item.get('line', 0)}",
            message=str(item.get("message", "")),
        )
        for item in data
    ]


def bandit(text: str, root: str) -> list[Finding]:
    data = _load(text, "bandit")
    if not isinstance(data, dict) or "results" not in data:
        raise Unavailable("bandit: unexpected JSON")
    return [
        Finding(
            scanner="bandit",
            id=str(item.get("test_id", "")),
            severity=str(item.get("issue_severity", "LOW")).lower(),
            location=f"{_rel(item.get('filename', ''), root)}:{item.get('line_number', 0)}",
            message=str(item.get("issue_text", "")),
        )
        for item in data["results"]
    ]


def pip_audit(text: str, root: str) -> list[Finding]:
    data = _load(text, "pip-audit")
    deps = data.get("dependencies") if isinstance(data, dict) else None
    if not isinstance(deps, list):
        raise Unavailable("pip-audit: unexpected JSON")
    skipped = [d for d in deps if d.get("skip_reason")]
    if deps and len(skipped) == len(deps):
        # What an unreachable vulnerability service looks like: nothing was audited.
        raise Unavailable(
            f"pip-audit could not audit any of {len(deps)} dependencies "
            f"({skipped[0].get('skip_reason')})"
        )
    out = []
    for dep in deps:
        for vuln in dep.get("vulns") or []:
            # pip-audit reports no severity: a known vulnerability counts as high
            # until an allowlist entry says otherwise.
            fixes = ", ".join(vuln.get("fix_versions") or []) or "none"
            out.append(
                Finding(
                    scanner="pip-audit",
                    id=str(vuln.get("id", "")),
                    severity="high",
                    location=f"{dep.get('name')}=={dep.get('version')}",
                    message=f"{str(vuln.get('description', ''))[:200]} (fixed in: {fixes})",
                )
            )
    return out


def npm_audit(text: str, root: str) -> list[Finding]:
    data = _load(text, "npm audit")
    if not isinstance(data, dict):
        raise Unavailable("npm audit: unexpected JSON")
    if "error" in data:
        err = data["error"]
        summary = err.get("summary", err) if isinstance(err, dict) else err
        raise Unavailable(f"npm audit: {str(summary)[:300]}")
    vulns = data.get("vulnerabilities")
    if not isinstance(vulns, dict):
        raise Unavailable("npm audit: unexpected JSON")
    out = []
    for name, vuln in vulns.items():
        advisories = [v for v in vuln.get("via") or [] if isinstance(v, dict)]
        ident = str(advisories[0].get("url") or advisories[0].get("source")) if advisories else name
        title = str(advisories[0].get("title", "")) if advisories else f"via {vuln.get('via')}"
        sev = str(vuln.get("severity", "low"))
        out.append(
            Finding(
                scanner="npm-audit",
                id=ident,
                severity="medium" if sev == "moderate" else (sev if sev in SEVERITIES else "low"),
                location=f"{name}@{vuln.get('range', '')}",
                message=title,
            )
        )
    return out


def _rel(path: object, root: str) -> str:
    text = str(path)
    return text[len(root) :].lstrip("/") if text.startswith(root) else text


PARSERS: dict[str, Callable[[str, str], list[Finding]]] = {
    "hadolint": hadolint,
    "bandit": bandit,
    "pip-audit": pip_audit,
    "npm-audit": npm_audit,
}
