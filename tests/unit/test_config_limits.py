"""Input limits of the config reader: what no pipeline file should be is refused with one
line naming file:line:column and what to do, never a traceback or a runaway process."""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest
import yaml

from pipeline.config import load_config, yamlcompose
from pipeline.config.source import MAX_CONFIG_BYTES
from pipeline.config.yamlcompose import MAX_DEPTH, MAX_NODES
from pipeline.config.yamlload import MAX_SCALAR_CHARS, MAX_VALUES
from pipeline.model.errors import ConfigError

GOOD = "project: {name: demo}\nstages:\n  - {name: lint, kind: command, image: x, commands: [[ruff]]}\n"


def alias_bomb(levels: int = 8, width: int = 9) -> str:
    """The issue's bomb: ``levels`` levels of ``width`` aliases, about 300 bytes, which
    expands to width**levels (43 million) values."""
    lines = [f"a0: &a0 [{','.join(['x'] * width)}]"]
    for i in range(1, levels + 1):
        lines.append(f"a{i}: &a{i} [{','.join([f'*a{i - 1}'] * width)}]")
    return "\n".join(lines) + "\n"


def error_of(tmp_path: Path, content: str | bytes) -> str:
    path = tmp_path / "pipeline.yaml"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(path, environ={"GIT_SHA": "abc", "BRANCH": "main"})
    message = str(info.value)
    assert "\n" not in message, message  # one line
    return message.replace(str(path), "pipeline.yaml")


def test_the_alias_bomb_is_refused_before_it_expands(tmp_path: Path) -> None:
    text = alias_bomb()
    assert len(text) < 400
    msg = error_of(tmp_path, text)
    assert msg.startswith("pipeline.yaml:")
    assert f"more than {MAX_VALUES:,} values (aliases included: an alias bomb?)" in msg


def test_a_file_with_few_aliases_still_loads(tmp_path: Path) -> None:
    path = tmp_path / "pipeline.yaml"
    path.write_text(
        "project: {name: demo}\n"
        "services:\n  db: &pg {image: postgres:15, port: 5432}\n  db2: *pg\n"
        "stages:\n  - {name: lint, kind: command, image: x, commands: [[ruff]]}\n"
    )
    config = load_config(path, environ={"GIT_SHA": "abc", "BRANCH": "main"})
    assert config.model.services["db2"].port == 5432


def test_a_recursive_alias_is_named(tmp_path: Path) -> None:
    msg = error_of(tmp_path, "variables: &v {a: [*v]}\n" + GOOD)
    assert msg.startswith("pipeline.yaml:1:")
    assert "refers to itself (a recursive alias)" in msg


def test_nesting_too_deep(tmp_path: Path) -> None:
    depth = 10_000
    msg = error_of(tmp_path, "variables: " + "[" * depth + "]" * depth + "\n")
    assert msg.startswith("pipeline.yaml:1:")
    assert f"nested more than {MAX_DEPTH} levels deep" in msg


def test_a_file_too_large(tmp_path: Path) -> None:
    msg = error_of(tmp_path, GOOD + "#" + "x" * MAX_CONFIG_BYTES + "\n")
    assert msg.startswith("pipeline.yaml: larger than 1024 KiB")


def test_a_huge_string(tmp_path: Path) -> None:
    msg = error_of(tmp_path, "project:\n  name: " + "a" * (MAX_SCALAR_CHARS + 1) + "\nstages: []\n")
    assert msg.startswith("pipeline.yaml:2:9: project.name: a value of 65,537 characters")


def test_a_number_too_long_for_python(tmp_path: Path) -> None:
    msg = error_of(tmp_path, "version: " + "9" * 5000 + "\n" + GOOD)
    assert msg == "pipeline.yaml:1:10: version: a number of 5,000 digits; far too long"


def test_not_utf8_names_the_byte_and_its_line(tmp_path: Path) -> None:
    msg = error_of(tmp_path, (GOOD + "# café\n").encode("latin-1"))
    assert msg.startswith("pipeline.yaml:4:6: byte 0xe9 is not UTF-8; Slipway reads UTF-8 only")
    assert "iconv" in msg


def test_a_utf8_byte_order_mark_is_fine(tmp_path: Path) -> None:
    path = tmp_path / "pipeline.yaml"
    path.write_bytes(codecs.BOM_UTF8 + GOOD.encode())
    assert load_config(path, environ={"GIT_SHA": "abc", "BRANCH": "x"}).model.project.name == "demo"


@pytest.mark.parametrize("encoding", ["utf-16", "utf-32"])
def test_other_unicode_encodings_are_named(tmp_path: Path, encoding: str) -> None:
    msg = error_of(tmp_path, GOOD.encode(encoding))
    assert msg.startswith(f"pipeline.yaml:1:1: the file is {encoding.upper()} (its byte-order mark")


def test_utf16_without_a_byte_order_mark(tmp_path: Path) -> None:
    msg = error_of(tmp_path, GOOD.encode("utf-16-le"))
    assert "looks like UTF-16 without a byte-order mark" in msg


def test_a_binary_file(tmp_path: Path) -> None:
    msg = error_of(tmp_path, b"\x7fELF\x02\x01\x01" + bytes(200))
    assert msg.startswith("pipeline.yaml:1:8: a NUL byte: this is a binary file, not YAML")


def test_a_control_character(tmp_path: Path) -> None:
    msg = error_of(tmp_path, "project:\n  name: a\x07b\nstages: []\n")
    assert msg == "pipeline.yaml:2:10: character U+0007 is not allowed in YAML; remove it"


def test_an_unsafe_tag(tmp_path: Path) -> None:
    msg = error_of(tmp_path, "project: !!python/object:os.system {name: x}\n")
    assert msg.startswith("pipeline.yaml:1:10: project: the tag tag:yaml.org,2002:python/object:os.system")
    msg = error_of(tmp_path, "version: !!python/name:os.system ''\n")
    assert msg.startswith("pipeline.yaml:1:10: version: invalid YAML value:")


def test_a_key_that_is_a_list(tmp_path: Path) -> None:
    msg = error_of(tmp_path, "? [a, b]\n: 1\n")
    assert msg == "pipeline.yaml:1:3: (top level): a key must be a plain name, not a list or mapping"


def test_a_directory(tmp_path: Path) -> None:
    (tmp_path / "pipeline.yaml").mkdir()
    with pytest.raises(ConfigError, match="is a directory"):
        load_config(tmp_path / "pipeline.yaml")


def test_a_wrong_value_is_shown_short(tmp_path: Path) -> None:
    path = tmp_path / "pipeline.yaml"
    path.write_text("project: {name: demo}\nstages: [" + ", ".join(["1"] * 5000) + "]\n")
    with pytest.raises(ConfigError) as info:
        load_config(path, environ={"GIT_SHA": "abc", "BRANCH": "main"})
    lines = str(info.value).splitlines()
    assert len(lines) <= 21 and lines[-1].startswith("... and ")
    assert max(len(line) for line in lines) < 400


def test_too_many_values_without_aliases(tmp_path: Path) -> None:
    msg = error_of(tmp_path, "variables: [" + ",".join(["1"] * (MAX_NODES + 10)) + "]\n")
    assert msg.startswith("pipeline.yaml:1:")
    assert f"more than {MAX_NODES:,} values" in msg


def test_anchors_and_aliases_that_name_nothing_or_twice(tmp_path: Path) -> None:
    assert "alias *nope names no anchor" in error_of(tmp_path, "variables: *nope\n")
    msg = error_of(tmp_path, "a: &x 1\nb: &x 2\n")
    assert msg.startswith("pipeline.yaml:2:4: anchor &x is defined twice (first at line 1)")


def test_a_second_document(tmp_path: Path) -> None:
    msg = error_of(tmp_path, GOOD + "---\nother: 1\n")
    assert msg.startswith("pipeline.yaml:4:1: a second YAML document")


def test_a_control_character_after_non_ascii_text(tmp_path: Path) -> None:
    # libyaml reports a byte offset; the column counts characters.
    msg = error_of(tmp_path, "project:\n  name: é\x07\nstages: []\n")
    assert msg == "pipeline.yaml:2:10: character U+0007 is not allowed in YAML; remove it"


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("variables: " + "[" * 1000 + "]" * 1000 + "\n", "nested more than 64 levels deep"),
        ("project:\n  name: é\x07\n", "pipeline.yaml:2:10: character U+0007 is not allowed"),
        (alias_bomb(), "alias bomb?"),
    ],
)
def test_the_same_limits_without_libyaml(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, content: str, expected: str
) -> None:
    # A PyYAML built without libyaml hands out the same events from its pure-Python parser.
    monkeypatch.setattr(yamlcompose, "_Parser", yaml.SafeLoader)
    assert expected in error_of(tmp_path, content)
