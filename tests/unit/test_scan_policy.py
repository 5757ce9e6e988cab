"""Scanner JSON -> findings, and the policy: threshold, allowlist with expiry, unavailable."""

from __future__ import annotations

import json
from datetime import date

import pytest

from pipeline.config.model import AllowEntry, ScanPolicy
from pipeline.stages.scan import findings
from pipeline.stages.scan.findings import Finding, Unavailable
from pipeline.stages.scan.policy import evaluate


def test_parsers_map_severities_and_locations() -> None:
    had = findings.hadolint(
        json.dumps(
            [
                {
                    "code": "DL3008",
                    "level": "warning",
                    "file": "/src/api/Dockerfile",
                    "line": 3,
                    "message": "pin",
                }
            ]
        ),
        "/src",
    )
    assert had == [
        Finding(
            scanner="hadolint", id="DL3008", severity="medium", location="api/Dockerfile:3", message="pin"
        )
    ]
    ban = findings.bandit(
        json.dumps(
            {
                "results": [
                    {
                        "test_id": "B602",
                        "issue_severity": "HIGH",
                        "filename": "/src/app/x.py",
                        "line_number": 9,
                        "issue_text": "shell",
                    }
                ]
            }
        ),
        "/src",
    )
    assert ban[0].severity == "high" and ban[0].location == "app/x.py:9"
    npm = findings.npm_audit(
        json.dumps(
            {
                "vulnerabilities": {
                    "lodash": {
                        "severity": "moderate",
                        "range": "<4.17.21",
                        "via": [{"url": "GHSA-1", "title": "proto"}],
                    }
                }
            }
        ),
        "/src",
    )
    assert npm == [
        Finding(
            scanner="npm-audit", id="GHSA-1", severity="medium", location="lodash@<4.17.21", message="proto"
        )
    ]
    pa = findings.pip_audit(
        json.dumps(
            {
                "dependencies": [
                    {
                        "name": "jinja2",
                        "version": "2.0",
                        "vulns": [{"id": "PYSEC-1", "fix_versions": ["3.1"], "description": "xss"}],
                    }
                ]
            }
        ),
        "/src",
    )
    assert pa[0].id == "PYSEC-1" and pa[0].severity == "high" and pa[0].location == "jinja2==2.0"


def test_unreachable_vulnerability_services_are_unavailable() -> None:
    with pytest.raises(Unavailable, match="could not audit any of 2"):
        findings.pip_audit(
            json.dumps(
                {
                    "dependencies": [
                        {"name": "a", "skip_reason": "not found on PyPI"},
                        {"name": "b", "skip_reason": "x"},
                    ]
                }
            ),
            "/src",
        )
    with pytest.raises(Unavailable, match="audit endpoint returned an error"):
        findings.npm_audit(json.dumps({"error": {"summary": "audit endpoint returned an error"}}), "/src")
    with pytest.raises(Unavailable, match="no JSON"):
        findings.bandit("Traceback ...", "/src")


def f(ident: str, severity: str) -> Finding:
    return Finding(scanner="bandit", id=ident, severity=severity, location="x.py:1", message="m")


def test_threshold_allowlist_and_expiry() -> None:
    policy = ScanPolicy(
        fail_on="high",
        allowlist=(
            AllowEntry(id="B1", reason="false positive, reviewed", expires="2030-01-01"),
            AllowEntry(id="B2", reason="fix scheduled", expires="2020-01-01"),
        ),
    )
    v = evaluate(policy, [f("B1", "high"), f("B2", "critical"), f("B3", "medium")], {}, date(2026, 11, 23))
    assert [x.id for x in v.blocking] == ["B2"]  # its allowlist entry expired
    assert [(x.id, r) for x, r in v.allowed] == [("B1", "false positive, reviewed")]
    assert [x.id for x in v.below] == ["B3"]
    assert v.expired == [{"id": "B2", "reason": "fix scheduled", "expires": "2020-01-01"}]
    assert v.failed


def test_unavailable_scanner_warns_or_fails_by_policy() -> None:
    down = {"pip-audit": "could not reach its database"}
    assert not evaluate(ScanPolicy(unavailable="warn"), [], down, date.today()).failed
    assert evaluate(ScanPolicy(unavailable="fail"), [], down, date.today()).failed
