"""The scan policy: fail at a severity, an allowlist with reasons and expiry dates,
and what an unavailable scanner means."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from pipeline.config.model import ScanPolicy
from pipeline.stages.scan.findings import Finding, rank


@dataclass(slots=True, kw_only=True)
class Verdict:
    blocking: list[Finding] = field(default_factory=list)
    allowed: list[tuple[Finding, str]] = field(default_factory=list)  # (finding, reason)
    below: list[Finding] = field(default_factory=list)
    expired: list[dict[str, str]] = field(default_factory=list)  # allowlist entries past expiry
    unavailable: dict[str, str] = field(default_factory=dict)  # scanner -> why
    unavailable_fails: bool = False

    @property
    def failed(self) -> bool:
        return bool(self.blocking) or (bool(self.unavailable) and self.unavailable_fails)

    def as_data(self) -> dict[str, Any]:
        return {
            "blocking": [f.as_data() for f in self.blocking],
            "allowed": [{**f.as_data(), "reason": r} for f, r in self.allowed],
            "below_threshold": [f.as_data() for f in self.below],
            "expired_allowlist": self.expired,
            "unavailable": self.unavailable,
        }


def evaluate(
    policy: ScanPolicy, findings: list[Finding], unavailable: dict[str, str], today: date
) -> Verdict:
    live: dict[str, str] = {}
    verdict = Verdict(unavailable=dict(unavailable), unavailable_fails=policy.unavailable == "fail")
    for entry in policy.allowlist:
        if date.fromisoformat(entry.expires) < today:
            # An expired exception no longer hides the finding, and says so.
            verdict.expired.append({"id": entry.id, "reason": entry.reason, "expires": entry.expires})
        else:
            live[entry.id] = entry.reason
    threshold = rank(policy.fail_on)
    for finding in findings:
        if rank(finding.severity) < threshold:
            verdict.below.append(finding)
        elif finding.id in live:
            verdict.allowed.append((finding, live[finding.id]))
        else:
            verdict.blocking.append(finding)
    return verdict
