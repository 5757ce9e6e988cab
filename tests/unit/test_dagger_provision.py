"""Building and starting Slipway's Dagger engine: the pure parts of the recipe.

What Go's output says the proxy refused, the build module's go.mod, the mirror's
names for aliased images, the engine's settings and ``docker run`` line. The build
itself and a refusal by a (stand-in) proxy run for real in
tests/integration/test_dagger_provision.py.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from pipeline.engines.dagger.provision import env_lines
from pipeline.engines.dagger.provision.container import Network, engine_settings, run_argv
from pipeline.engines.dagger.provision.gosource import go_mod_text, recipe_digest
from pipeline.engines.dagger.provision.layout import CONTAINER, LABEL_CLI, LABEL_MIRROR, Layout, cache_root
from pipeline.engines.dagger.provision.mirror import docker_hub_path, mirror_pairs
from pipeline.engines.dagger.provision.pins import KNOWN, pins_for
from pipeline.engines.dagger.provision.proc import ModuleRefused, ProvisionError, Steps, refused_modules
from pipeline.model.errors import EngineUnavailable
from tests.integration import dagger_live

pytestmark = pytest.mark.unit

GO_OUTPUT = """\
go: downloading github.com/vito/midterm v0.2.5-0.20260312180916-3c2add750bea
go: github.com/vito/tuist@v0.0.6: reading https://proxy.golang.org/github.com/vito/tuist/@v/v0.0.6.info: 403 Forbidden
	server response: This module version is not available.
go: github.com/vito/dang/v2@v2.1.1: reading https://proxy.golang.org/github.com/vito/dang/v2/@v/v2.1.1.mod: 410 Gone
go: github.com/vito/tuist@v0.0.6: reading https://proxy.golang.org/github.com/vito/tuist/@v/v0.0.6.mod: 403 Forbidden
"""


def test_refused_modules_are_read_from_go_s_output() -> None:
    assert refused_modules(GO_OUTPUT) == [
        ("github.com/vito/tuist@v0.0.6", "403"),
        ("github.com/vito/dang/v2@v2.1.1", "410"),
    ]
    assert refused_modules("go: downloading x v1\nbuild failed: undefined: y") == []


def test_a_refusal_names_each_module_and_exits_2() -> None:
    err = ModuleRefused(refused_modules(GO_OUTPUT), "go build")
    assert isinstance(err, EngineUnavailable)
    assert err.exit_code == 2
    assert "github.com/vito/tuist@v0.0.6 (403); github.com/vito/dang/v2@v2.1.1 (410)" in str(err)


def test_a_failing_tool_says_its_last_lines(tmp_path: Path) -> None:
    lines: list[str] = []
    with pytest.raises(ProvisionError, match=r"exited 3:\nbad thing"):
        Steps(lines.append).run(["sh", "-c", "echo bad thing; exit 3"])
    assert any("bad thing" in line for line in lines)  # streamed as it ran


def test_a_refusal_in_a_tool_s_output_is_a_module_refusal() -> None:
    script = f"printf '%s' '{GO_OUTPUT}' >&2; exit 1"
    with pytest.raises(ModuleRefused, match=re.escape("github.com/vito/tuist@v0.0.6")):
        Steps(lambda _: None).run(["sh", "-c", script])


def test_the_build_module_requires_served_versions_and_repeats_dagger_s_replaces() -> None:
    pins = KNOWN["0.21.8"]
    text = go_mod_text(
        pins,
        [
            ("go.etcd.io/bbolt", "go.etcd.io/bbolt", "v1.4.0-beta.0"),
            ("dagger.io/dagger", "dagger.io/dagger", "v0.21.8"),
        ],
    )
    assert "\tgithub.com/dagger/dagger v0.21.8\n" in text
    assert "\tgithub.com/containernetworking/plugins v1.9.0\n" in text
    assert "\tgithub.com/vito/midterm v0.2.5 // the version dagger pins is refused by the proxy\n" in text
    assert "\tdagger.io/dagger => dagger.io/dagger v0.21.8\n" in text
    assert "\tgithub.com/dagger/dagger/engine/distconsts => ./distconsts\n" in text
    assert "\tgithub.com/vito/tuist => ./stubs/tuist\n" in text
    assert "\tgo.etcd.io/bbolt => go.etcd.io/bbolt v1.4.0-beta.0\n" in text
    assert text.count("dagger.io/dagger =>") == 1


def test_the_recipe_digest_follows_the_pins() -> None:
    pins = KNOWN["0.21.8"]
    assert recipe_digest(pins) == recipe_digest(pins)
    other = type(pins)(dagger=pins.dagger, runc="v1.4.3", cni=pins.cni)
    assert recipe_digest(other) != recipe_digest(pins)


def test_an_sdk_version_without_a_recipe_says_what_to_do() -> None:
    with pytest.raises(EngineUnavailable, match=r"not v0\.99\.0 .*pin dagger-io"):
        pins_for("0.99.0")
    assert pins_for("0.21.8").dagger == "v0.21.8"


@pytest.mark.parametrize(
    ("ref", "path"),
    [
        ("python:3.11-slim", ("library/python", "3.11-slim")),
        ("postgres", ("library/postgres", "latest")),
        ("slipway/python:3.11", ("slipway/python", "3.11")),
        ("docker.io/library/node:20-slim", ("library/node", "20-slim")),
        ("ghcr.io/org/tool:1", None),
        ("localhost:5000/app:1", None),
        ("python@sha256:abc", None),
    ],
)
def test_the_mirror_stores_docker_hub_names_as_the_engine_asks_for_them(
    ref: str, path: tuple[str, str] | None
) -> None:
    assert docker_hub_path(ref) == path


def test_aliases_are_mirrored_under_both_names() -> None:
    pairs = mirror_pairs({"python:3.11-slim": "slipway/python:3.11", "tool:1": "ghcr.io/x/tool:1"})
    assert ("slipway/python:3.11", "python:3.11-slim") in pairs
    assert ("slipway/python:3.11", "slipway/python:3.11") in pairs
    assert ("slipway/debian:bookworm", "debian:bookworm") in pairs  # the engine's own base
    assert ("ghcr.io/x/tool:1", "tool:1") in pairs
    assert all(name != "ghcr.io/x/tool:1" for _, name in pairs)  # not a docker.io name


def test_the_mirror_is_plain_http_by_its_own_entry() -> None:
    settings = engine_settings("172.17.0.1", 5055)
    assert settings == {
        "logLevel": "info",
        "registries": {"docker.io": {"mirrors": ["172.17.0.1:5055"]}, "172.17.0.1:5055": {"http": True}},
    }
    json.dumps(settings)  # engine.json


def test_the_engine_container_carries_what_a_run_needs(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(
        "pipeline.engines.dagger.provision.container.privilege_flags", lambda: ("--privileged",)
    )
    layout = Layout(root=tmp_path, version="v0.21.8")
    net = Network(gateway="172.17.0.1", mirror_port=5055, forward_ports=(5000, 5001), tcp_port=1234)
    argv = run_argv(layout, net, {"extra": "1"})
    assert argv[:4] == ["docker", "run", "-d", "--name"]
    assert argv[4] == CONTAINER
    assert "--privileged" in argv
    assert "SLIPWAY_FORWARD=5000=172.17.0.1:5000 5001=172.17.0.1:5001" in argv
    assert f"{LABEL_CLI}={tmp_path}/v0.21.8/bin/dagger" in argv
    assert f"{LABEL_MIRROR}=127.0.0.1:5055" in argv
    assert "extra=1" in argv
    assert f"{layout.engine_json}:/etc/dagger/engine.json:ro" in argv
    image_at = argv.index("slipway/dagger-engine:v0.21.8")
    assert argv[image_at - 2 : image_at] == ["-p", "127.0.0.1:1234:1234"]
    assert argv[image_at + 1 :] == ["--addr", "tcp://0.0.0.0:1234"]


def test_the_cache_lives_outside_the_work_tree(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SLIPWAY_DAGGER_CACHE", str(tmp_path))
    assert cache_root() == tmp_path
    layout = Layout(root=tmp_path, version="v0.21.8")
    assert layout.bin == tmp_path / "v0.21.8" / "bin"
    assert layout.go_env == {"GOMODCACHE": f"{tmp_path}/go/mod", "GOCACHE": f"{tmp_path}/go/build"}


def test_the_exports_point_cli_and_sdk_at_the_engine(tmp_path: Path) -> None:
    lines = env_lines(Layout(root=tmp_path, version="v0.21.8"), 1234)
    assert f"export _EXPERIMENTAL_DAGGER_RUNNER_HOST=docker-container://{CONTAINER}" in lines
    assert f"export _EXPERIMENTAL_DAGGER_CLI_BIN={tmp_path}/v0.21.8/bin/dagger" in lines
    assert "# or, as a remote engine would be reached: tcp://127.0.0.1:1234" in lines


# --- the live tests' requirement: fail in CI, skip with a reason elsewhere ----------------


def test_live_tests_fail_in_ci_when_the_engine_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dagger_live, "slipway_engine", lambda: None)
    monkeypatch.setenv("CI", "1")
    with pytest.raises(pytest.fail.Exception, match=r"engine dagger --start.*CI is set"):
        dagger_live.find_engine()
    monkeypatch.delenv("CI")
    with pytest.raises(pytest.skip.Exception, match="engine dagger --start"):
        dagger_live.find_engine()
