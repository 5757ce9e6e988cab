"""Cache keys: stable, sensitive to what decides a result, blind to the rest."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pipeline.cache.keys import (
    SecretInKeyError,
    canonical_json,
    files_digest,
    input_files,
    job_key,
    spec_fingerprint,
)
from pipeline.model.spec import ContainerSpec, DirectoryMount, ImageRef, ServiceSpec

pytestmark = pytest.mark.unit

FINGERPRINT: dict[str, object] = {
    "image": {"digest": "sha256:" + "a" * 64},
    "commands": [["pytest", "-q", "tests/unit"]],
    "env": {"PYTHONHASHSEED": "0", "CI": "1"},
    "services": [{"name": "db", "image": {"ref": "postgres:16"}, "env": {"POSTGRES_DB": "app"}}],
}


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    (tmp_path / "src" / "app").mkdir(parents=True)
    (tmp_path / "src" / "app" / "models.py").write_text("class User: ...\n")
    (tmp_path / "src" / "app" / "views.py").write_text("def index(): ...\n")
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_models.py").write_text("def test_user(): ...\n")
    (tmp_path / "uv.lock").write_text("version = 1\n")
    (tmp_path / "README.md").write_text("docs\n")
    return tmp_path


GLOBS = ["src/**/*.py", "tests", "uv.lock"]


def key(root: Path, fingerprint: dict[str, object] | None = None, version: str = "0.1.0") -> str:
    return job_key(fingerprint or FINGERPRINT, GLOBS, root, version=version)


def test_key_is_a_sha256_and_stable_across_processes(repo: Path) -> None:
    here = key(repo)
    assert len(here) == 64 and int(here, 16) >= 0
    code = (
        "import sys, json; from pathlib import Path; from pipeline.cache.keys import job_key; "
        "print(job_key(json.loads(sys.argv[1]), json.loads(sys.argv[2]), Path(sys.argv[3]), "
        "version='0.1.0'))"
    )
    # Another interpreter with another hash seed: nothing may depend on set/dict order.
    out = subprocess.run(
        [sys.executable, "-c", code, json.dumps(FINGERPRINT), json.dumps(GLOBS), str(repo)],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONHASHSEED": "123"},
    )
    assert out.stdout.strip() == here


def test_key_changes_with_an_input_file(repo: Path) -> None:
    before = key(repo)
    (repo / "src" / "app" / "views.py").write_text("def index(): return 1\n")
    assert key(repo) != before


def test_key_changes_when_a_matched_file_is_added_or_removed(repo: Path) -> None:
    before = key(repo)
    (repo / "src" / "app" / "new.py").write_text("")
    added = key(repo)
    assert added != before
    (repo / "src" / "app" / "new.py").unlink()
    assert key(repo) == before


def test_key_ignores_unmatched_files_and_ignored_dirs(repo: Path) -> None:
    before = key(repo)
    (repo / "README.md").write_text("other docs\n")
    for ignored in ("node_modules", ".git", "__pycache__", ".venv"):
        (repo / "src" / ignored).mkdir()
        (repo / "src" / ignored / "junk.py").write_text("x = 1\n")
    assert key(repo) == before


def test_key_ignores_file_times(repo: Path) -> None:
    before = key(repo)
    past = time.time() - 86400 * 30
    for path in repo.rglob("*"):
        os.utime(path, (past, past))
    assert key(repo) == before


def test_key_changes_with_the_executable_bit(repo: Path) -> None:
    before = key(repo)
    (repo / "uv.lock").chmod(0o755)
    assert key(repo) != before


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("commands", [["pytest", "-q", "tests/api"]]),
        ("env", {"PYTHONHASHSEED": "1", "CI": "1"}),
        ("env", {"PYTHONHASHSEED": "0"}),
        ("image", {"digest": "sha256:" + "b" * 64}),
        ("services", []),
    ],
)
def test_key_changes_with_the_spec(repo: Path, field: str, value: object) -> None:
    assert key(repo, {**FINGERPRINT, field: value}) != key(repo)


def test_key_changes_with_slipway_version(repo: Path) -> None:
    assert key(repo, version="0.2.0") != key(repo)


def test_key_ignores_mapping_order(repo: Path) -> None:
    reordered = dict(reversed(list(FINGERPRINT.items())))
    reordered["env"] = {"CI": "1", "PYTHONHASHSEED": "0"}
    assert key(repo, reordered) == key(repo)


def test_secret_names_as_env_keys_are_refused(repo: Path) -> None:
    leaking = {**FINGERPRINT, "env": {"CI": "1", "API_TOKEN": "hunter2"}}
    with pytest.raises(SecretInKeyError, match="API_TOKEN"):
        job_key(leaking, GLOBS, repo, version="0", secret_names={"API_TOKEN"})
    in_service = {
        **FINGERPRINT,
        "services": [{"name": "db", "env": [["POSTGRES_PASSWORD", "pw"]]}],
    }
    with pytest.raises(SecretInKeyError, match=r"services\[0\]\.env"):
        job_key(in_service, GLOBS, repo, version="0", secret_names={"POSTGRES_PASSWORD"})
    # Naming the secret (not setting it) is fine: the name is part of the spec.
    job_key({**FINGERPRINT, "secrets": ["API_TOKEN"]}, GLOBS, repo, version="0", secret_names={"API_TOKEN"})


def test_secret_values_never_reach_the_key(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    spec = ContainerSpec(
        name="unit",
        image=ImageRef(ref="python:3.12-slim"),
        commands=(("pytest",),),
        env=(("CI", "1"),),
        secrets=("API_TOKEN",),
        services=(ServiceSpec(name="db", image=ImageRef(ref="postgres:16")),),
    )
    keys = set()
    for value in ("one-secret-value", "another-secret-value"):
        monkeypatch.setenv("API_TOKEN", value)
        fingerprint = spec_fingerprint(spec, image_digest="sha256:" + "c" * 64)
        assert value not in canonical_json(fingerprint)
        keys.add(job_key(fingerprint, GLOBS, repo, version="0", secret_names=spec.secrets))
    assert len(keys) == 1


def test_spec_fingerprint_leaves_out_host_paths(tmp_path: Path) -> None:
    def spec_from(source: Path) -> ContainerSpec:
        return ContainerSpec(
            name="unit",
            image=ImageRef(ref="python:3.12-slim"),
            commands=(("pytest",),),
            directories=(DirectoryMount(source=source, dest="/src"),),
        )

    a = spec_fingerprint(spec_from(tmp_path / "runner-a"), image_digest="sha256:1")
    b = spec_fingerprint(spec_from(tmp_path / "runner-b"), image_digest="sha256:1")
    assert canonical_json(a) == canonical_json(b)


def test_non_data_in_a_fingerprint_is_a_type_error(repo: Path) -> None:
    with pytest.raises(TypeError, match="object"):
        job_key({"x": object()}, GLOBS, repo, version="0")


def test_glob_semantics(repo: Path) -> None:
    (repo / "src" / "app" / "data.json").write_text("{}")
    (repo / "src" / "top.py").write_text("")
    assert sorted(input_files(["src/**/*.py"], repo)) == [
        "src/app/models.py",
        "src/app/views.py",
        "src/top.py",
    ]
    # A directory name takes everything under it; "!" excludes.
    assert sorted(input_files(["src", "!src/**/*.json"], repo)) == [
        "src/app/models.py",
        "src/app/views.py",
        "src/top.py",
    ]
    assert list(input_files(["*.lock"], repo)) == ["uv.lock"]
    assert list(input_files(["./uv.lock"], repo)) == ["uv.lock"]
    assert input_files(["nothing/*"], repo) == {}


def test_files_digest_follows_lock_file_content(repo: Path) -> None:
    before = files_digest(["uv.lock"], repo)
    assert files_digest(["uv.lock"], repo) == before
    (repo / "uv.lock").write_text("version = 2\n")
    assert files_digest(["uv.lock"], repo) != before


def test_symlinks(repo: Path) -> None:
    (repo / "src" / "link.py").symlink_to(repo / "src" / "app" / "models.py")
    (repo / "src" / "dangling.py").symlink_to(repo / "gone.py")
    (repo / "src" / "loop").symlink_to(repo / "src")
    files = input_files(["src"], repo)
    assert files["src/link.py"] == files["src/app/models.py"]
    assert files["src/dangling.py"].startswith("link:")
    assert files["src/loop"].startswith("link:")


def test_fast_on_a_few_thousand_files(tmp_path: Path) -> None:
    for d in range(40):
        pkg = tmp_path / "src" / f"pkg{d}"
        pkg.mkdir(parents=True)
        for f in range(75):
            (pkg / f"mod{f}.py").write_text(f"# module {d}.{f}\n" + "x = 1\n" * 50)
    nm = tmp_path / "node_modules" / "big"
    nm.mkdir(parents=True)
    for f in range(2000):
        (nm / f"f{f}.js").write_text("module.exports = 1\n")
    start = time.perf_counter()
    files = input_files(["src/**/*.py", "*.lock"], tmp_path)
    elapsed = time.perf_counter() - start
    assert len(files) == 3000
    # An order of magnitude (seconds, not minutes); the figure is bench/wallclock_bench.py's.
    assert elapsed < 30, f"hashing 3000 files took {elapsed:.2f}s"
