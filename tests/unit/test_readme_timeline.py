"""The README shows the timeline of a real run of the bundled example (docs/timeline.png,
with the SVG the same run wrote beside it): the picture is there, is a PNG, and is a
run of this repository's pipeline.yaml, one bar per job, the critical path marked."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

from PIL import Image

from pipeline.config import load_config
from pipeline.plan import build_plan

REPO = Path(__file__).resolve().parents[2]
SVG = "{http://www.w3.org/2000/svg}"


def test_the_readme_shows_the_timeline_picture() -> None:
    images = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", (REPO / "README.md").read_text(encoding="utf-8"))
    assert "docs/timeline.png" in images
    with Image.open(REPO / "docs/timeline.png") as picture:
        assert picture.format == "PNG" and picture.width >= 400


def test_the_readme_picture_is_a_run_of_the_bundled_example() -> None:
    root = ET.parse(REPO / "docs/timeline.svg").getroot()
    bars = [r for r in root.iter(f"{SVG}rect") if r.get("data-job")]
    jobs = [job.name for job in build_plan(load_config(REPO / "pipeline.yaml", environ={})).jobs]
    assert sorted(b.get("data-job") or "" for b in bars) == sorted(jobs)
    assert any(b.get("data-critical") == "true" for b in bars)
