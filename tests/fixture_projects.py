"""The fixture-project generator (tests/projects/shapes.py), for the tests that write
its shapes: ``from tests.fixture_projects import load_shapes``.

shapes.py is a script (tests/projects/verify.py runs beside it), not a package module:
it is loaded by path, once per process, as ``slipway_fixture_shapes``.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

SHAPES_PY = Path(__file__).resolve().parent / "projects" / "shapes.py"


def load_shapes() -> ModuleType:
    name = "slipway_fixture_shapes"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, SHAPES_PY)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        # Registered before it runs: its dataclasses look their module up by name.
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]
