"""Repository detection for ``slipway init``: read a checkout, return frozen findings.

``detect(path)`` reads the repository (it writes nothing) and returns a
``Detection``: the Python version, dependency manager and install commands, test
groups, services, database mode and per-worker shape, coverage settings,
frontends and image builds, each a ``Finding`` with its value, the file and line
it was read from, and whether it was detected or guessed; plus the ``questions``
a person should answer. This package imports nothing else from ``pipeline`` but
``pipeline.conftestscan`` (standard library only; the pytest plugin shares it).
"""

from pipeline.detect.context import Context
from pipeline.detect.coverage import Coverage, detect_coverage
from pipeline.detect.database import Alembic, Database, detect_database
from pipeline.detect.dependencies import Dependencies, detect_dependencies
from pipeline.detect.findings import Certainty, Finding, Question, Source
from pipeline.detect.frontend import Frontend, detect_frontends
from pipeline.detect.images import BakeTarget, Dockerfile, Images, detect_images
from pipeline.detect.python_version import PythonVersion, detect_python_version
from pipeline.detect.report import Detection, detect
from pipeline.detect.services import Service, Services, detect_services
from pipeline.detect.tests_layout import PytestRun, TestGroup, TestsLayout, detect_tests_layout

__all__ = [
    "Alembic",
    "BakeTarget",
    "Certainty",
    "Context",
    "Coverage",
    "Database",
    "Dependencies",
    "Detection",
    "Dockerfile",
    "Finding",
    "Frontend",
    "Images",
    "PytestRun",
    "PythonVersion",
    "Question",
    "Service",
    "Services",
    "Source",
    "TestGroup",
    "TestsLayout",
    "detect",
    "detect_coverage",
    "detect_database",
    "detect_dependencies",
    "detect_frontends",
    "detect_images",
    "detect_python_version",
    "detect_services",
    "detect_tests_layout",
]
