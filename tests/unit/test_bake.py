"""The docker-bake.hcl reader on fixture files: what it resolves, and what it refuses."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.model.errors import ConfigError
from pipeline.ship.bake import load_bake

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "bake"


def test_variables_groups_inherits_and_tags() -> None:
    bake = load_bake(FIX / "good.hcl", {"GIT_SHA": "abc123", "UNRELATED": "x"})
    assert bake.variables == {
        "GIT_SHA": "abc123",
        "REGISTRY": "localhost:5000",
        "REPO": "localhost:5000/shop",
    }
    api, web = bake.resolve(("default",))
    assert api.name == "api" and web.name == "web"
    assert api.context == (FIX / "api").resolve()
    assert api.dockerfile == "Dockerfile" and api.target == "runtime"
    assert api.args == (("MODE", "api"), ("PY", "3.11"))  # inherited, then overridden key by key
    assert api.tags == ("localhost:5000/shop-api:abc123",)
    assert api.labels == (("org.opencontainers.image.revision", "abc123"),)
    assert api.cache_from == ("type=registry,ref=localhost:5000/shop:cache",)
    assert web.dockerfile == "web.Dockerfile" and web.target is None
    assert web.tags == ("localhost:5000/shop-web:abc123", "localhost:5000/shop-web:latest")


def test_env_override_of_a_variable_feeds_later_defaults() -> None:
    bake = load_bake(FIX / "good.hcl", {"REGISTRY": "reg.example:443"})
    assert bake.target("web").tags[0] == "reg.example:443/shop-web:dev"


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("function.hcl", "function blocks (tag) are not supported"),
        ("matrix.hcl", "target 'api': matrix targets are not supported"),
        ("expr.hcl", "target 'api': tags: 'shop:${upper(GIT_SHA)}' uses an expression"),
        ("unknown_key.hcl", "target 'api': platforms not supported"),
        ("loop.hcl", "inherits from itself"),
    ],
)
def test_unsupported_is_a_clear_error_naming_file_and_target(name: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_bake(FIX / name, {}).resolve(("api",) if name != "loop.hcl" else ("a",))
    assert str(FIX / name) in str(info.value)
    assert message in str(info.value)


def test_unknown_target_and_missing_file() -> None:
    with pytest.raises(ConfigError, match="no target 'nope' \\(targets: _base, api, web\\)"):
        load_bake(FIX / "good.hcl", {}).resolve(("nope",))
    with pytest.raises(ConfigError, match="bake file not found"):
        load_bake(FIX / "missing.hcl", {})
