"""The bases Slipway can build: the names users write for them, and the nearest one for a
version no Debian suite carries (model/bases.py); what a bare `images bootstrap` builds."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.commands.cli import main
from pipeline.config import load_config
from pipeline.engines.docker.bootstrap import bases_for, why_build
from pipeline.engines.docker.bootstrap.recipes import LABEL_BOOTSTRAP, LABEL_RECIPE, recipe_for
from pipeline.engines.docker.bootstrap.rootfs import config_files, default_security_mirror, sources
from pipeline.model.bases import BASES, nearest_base, parse_image_name, resolve_base
from pipeline.model.errors import UsageError


@pytest.mark.parametrize(
    ("written", "tag"),
    [
        ("slipway/python:3.14", "slipway/python:3.14"),
        ("python:3.14", "slipway/python:3.14"),
        ("python:3.14-slim", "slipway/python:3.14"),
        ("python:3.14.2-slim-trixie", "slipway/python:3.14"),
        ("docker.io/library/python:3.13-slim", "slipway/python:3.13"),
        ("python:3.11", "slipway/python:3.11"),
        ("python:3.15", "slipway/python:3.15"),
        ("postgres:18", "slipway/postgres:18"),
        ("postgres:18-alpine", "slipway/postgres:18"),
        ("postgres:17.2", "slipway/postgres:17"),
        ("slipway/postgres:15", "slipway/postgres:15"),
        ("node:20-slim", "slipway/node:20"),
        ("python", "slipway/python:3.15"),  # no version: the newest
        ("python:3-slim", "slipway/python:3.15"),  # any 3.x: the newest
    ],
)
def test_every_form_a_user_writes_names_one_base(written: str, tag: str) -> None:
    assert resolve_base(written).tag == tag


def test_the_table_has_every_version_debians_suites_carry() -> None:
    assert {(b.family, b.version, b.suite) for b in BASES} == {
        ("python", "3.11", "bookworm"),
        ("python", "3.13", "trixie"),
        ("python", "3.14", "forky"),
        ("python", "3.15", "forky"),
        ("postgres", "15", "bookworm"),
        ("postgres", "17", "trixie"),
        ("postgres", "18", "forky"),
        ("node", "20", "trixie"),
    }
    assert [b.tag for b in BASES if b.default] == ["slipway/python:3.11", "slipway/postgres:15", "slipway/node:20"]


@pytest.mark.parametrize(
    ("asked", "nearest"),
    [
        ("python:3.12-slim", "3.13"),  # the next one up: >=3.12 still holds
        ("python:3.10", "3.11"),
        ("python:3.9", "3.11"),
        ("python:3.16", "3.15"),  # nothing above: the newest
        ("postgres:16", "17"),  # a 16 dump loads into 17, not into 15
        ("postgres:14", "15"),
        ("postgres:13-alpine", "15"),
        ("postgres:19", "18"),
        ("node:22-slim", "20"),
    ],
)
def test_nearest_base_is_at_or_above_else_the_newest(asked: str, nearest: str) -> None:
    name = parse_image_name(asked)
    assert name is not None
    assert nearest_base(name).version == nearest


def test_a_version_no_base_provides_names_the_nearest_and_the_alias_line() -> None:
    with pytest.raises(UsageError) as info:
        resolve_base("python:3.12-slim")
    msg = str(info.value)
    assert info.value.exit_code == 2
    assert "no base image provides Python 3.12" in msg
    assert "slipway/python:3.13" in msg
    assert '"python:3.12-slim": slipway/python:3.13' in msg  # the alias line to write
    assert "images bootstrap slipway/python:3.13" in msg
    assert "PEP 594" in msg  # what 3.13 removed that a 3.12 project may use


def test_postgres_16_error_shows_the_line_with_the_public_name_for_ours() -> None:
    with pytest.raises(UsageError) as info:
        resolve_base("slipway/postgres:16")
    assert '"postgres:16": slipway/postgres:17' in str(info.value)


def test_an_image_we_do_not_build_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match=r"'redis:7' is not an image bootstrap builds"):
        resolve_base("redis:7")


@pytest.mark.parametrize("ref", ["redis:7", "myorg/python:3.11", "python-base:3.11", "ghcr.io/x/y:1"])
def test_other_images_are_not_read_as_a_family(ref: str) -> None:
    assert parse_image_name(ref) is None


def test_bare_bootstrap_builds_what_the_aliases_point_at_else_the_defaults() -> None:
    aliases = {"python:3.14-slim": "slipway/python:3.14", "redis:7": "local/redis:7"}
    assert [b.tag for b in bases_for([], aliases)] == ["slipway/python:3.14"]
    assert [b.tag for b in bases_for([], {"redis:7": "local/redis:7"})] == [
        "slipway/python:3.11",
        "slipway/postgres:15",
        "slipway/node:20",
    ]
    # names win, in the order given, each once
    assert [b.tag for b in bases_for(["postgres:18", "python:3.14", "slipway/postgres:18"], aliases)] == [
        "slipway/postgres:18",
        "slipway/python:3.14",
    ]


def test_bootstrap_cli_exits_2_for_a_missing_version_before_touching_docker(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent")  # would be exit 2 too, with another message
    code = main(["images", "bootstrap", "--config", str(tmp_path / "none.yaml"), "postgres:16"])
    assert code == 2
    err = capsys.readouterr().err
    assert "no base image provides PostgreSQL 16" in err
    assert '"postgres:16": slipway/postgres:17' in err


def test_bootstrap_help_documents_names_list_rebuild_and_missing_versions(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["images", "bootstrap", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    for needle in ("slipway/python:3.14", "python:3.14-slim", "postgres:18-alpine", "--list", "--rebuild",
                   "Python 3.12", "PostgreSQL 16", "nearest", "reused", "images list"):
        assert needle in text, needle


def test_recipes_differ_per_version_and_are_stable() -> None:
    digests = {b.tag: recipe_for(b).digest() for b in BASES}
    assert len(set(digests.values())) == len(BASES)
    assert digests == {b.tag: recipe_for(b).digest() for b in BASES}
    # python:3.11-slim ships setuptools and wheel, 3.12+ images do not
    assert dict(recipe_for(resolve_base("python:3.11")).args)["PIP_EXTRA"] == "setuptools wheel"
    assert dict(recipe_for(resolve_base("python:3.14")).args)["PIP_EXTRA"] == ""
    # PostgreSQL 18 keeps its data per major, as the official 18 image
    assert dict(recipe_for(resolve_base("postgres:18")).args)["PGDATA_DIR"] == "/var/lib/postgresql/18/docker"
    assert dict(recipe_for(resolve_base("postgres:17")).args)["PGDATA_DIR"] == "/var/lib/postgresql/data"


def test_rootfs_sources_carry_security_updates_and_forky_accepts_an_expired_release() -> None:
    text = sources("bookworm", "http://deb.debian.org/debian", default_security_mirror("http://deb.debian.org/debian"))
    assert "Suites: bookworm bookworm-updates" in text
    assert "URIs: http://deb.debian.org/debian-security\nSuites: bookworm-security" in text
    forky = sources("forky", "http://m/debian", "http://m/debian-security")
    assert "Suites: forky\n" in forky  # testing has no -updates suite
    assert any("Check-Valid-Until" in t for t in config_files("forky").values())
    assert not any("Check-Valid-Until" in t for t in config_files("trixie").values())


def test_an_image_is_reused_by_its_recipe_label_never_by_its_tag_alone() -> None:
    digest = recipe_for(resolve_base("postgres:15")).digest()
    assert why_build({LABEL_RECIPE: digest, LABEL_BOOTSTRAP: "base"}, digest, rebuild=False) is None
    assert why_build(None, digest, rebuild=False) == "not built yet"
    # what main's bootstrap left (tag and LABEL_BOOTSTRAP only): rebuilt, not reused
    stale = why_build({LABEL_BOOTSTRAP: "base"}, digest, rebuild=False)
    assert stale is not None and "without a recipe label" in stale
    assert why_build({LABEL_RECIPE: ""}, digest, rebuild=False) is not None
    other = why_build({LABEL_RECIPE: "0123456789abcdef"}, digest, rebuild=False)
    assert other is not None and "another recipe (0123456789abcdef" in other
    assert why_build({LABEL_RECIPE: digest}, digest, rebuild=True) == "--rebuild asked"


@pytest.mark.parametrize("major", ["15", "17", "18"])
def test_every_postgres_base_has_a_healthcheck_on_tcp(major: str) -> None:
    # a service with `readiness: {healthcheck: true}` waits on it (test_docker_engine.py)
    recipe = recipe_for(resolve_base(f"postgres:{major}"))
    dockerfile = recipe.context_files()["Dockerfile"][0].decode().replace("\\\n", " ")
    [line] = [line for line in dockerfile.splitlines() if line.startswith("HEALTHCHECK ")]
    assert " CMD pg_isready -h 127.0.0.1 " in line


def test_a_recipe_change_changes_the_digest_so_old_images_are_rebuilt(monkeypatch: pytest.MonkeyPatch) -> None:
    base = resolve_base("postgres:15")
    before = recipe_for(base).digest()
    files = recipe_for(base).context_files()
    dockerfile = files["Dockerfile"][0].replace(b"HEALTHCHECK", b"# HEALTHCHECK")
    monkeypatch.setattr(
        type(recipe_for(base)), "context_files", lambda _self: {**files, "Dockerfile": (dockerfile, 0o644)}
    )
    assert recipe_for(base).digest() != before


def test_setup_machine_builds_only_the_default_bases_eagerly() -> None:
    # scripts/setup-machine runs a bare `images bootstrap` in the checkout: what this repository's
    # pipeline.yaml aliases point at must be the defaults, so CI builds the rare bases (python
    # 3.13/3.14/3.15, postgres 17/18) only in the tests that use them.
    root = Path(__file__).parents[2]
    setup = (root / "scripts" / "setup-machine").read_text()
    assert "python -m pipeline images bootstrap\n" in setup
    aliases = dict(load_config(root / "pipeline.yaml").model.images.aliases)
    assert [b.tag for b in bases_for([], aliases)] == [b.tag for b in BASES if b.default]
