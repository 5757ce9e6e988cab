"""pipeline.yaml's bytes to text, within limits, or one clear line saying why not.

A config is a few kilobytes of UTF-8 written by a person. Anything else (a
binary file passed by mistake, /dev/zero, a file saved as Latin-1 or UTF-16, a
generated file of hundreds of megabytes) is refused here, before YAML sees it,
with file:line:column where there is one and what to do about it.
"""

from __future__ import annotations

import codecs
from pathlib import Path

from pipeline.model.errors import ConfigError

# A real pipeline.yaml is a few KB; a megabyte is far past any hand-written one and
# still cheap to read, so nothing a person writes is refused and nothing huge is read.
MAX_CONFIG_BYTES = 1 << 20

# Byte-order marks of the encodings YAML allows besides UTF-8 (longest first: UTF-32
# LE starts with UTF-16 LE's mark).
_OTHER_BOMS = (
    (codecs.BOM_UTF32_LE, "UTF-32"),
    (codecs.BOM_UTF32_BE, "UTF-32"),
    (codecs.BOM_UTF16_LE, "UTF-16"),
    (codecs.BOM_UTF16_BE, "UTF-16"),
)
_CONVERT = "UTF-8 only: save it as UTF-8 (e.g. `iconv -f {enc} -t UTF-8 {path} > fixed.yaml`)"


def read_config_text(path: Path) -> str:
    """The text of ``path``: UTF-8 (a UTF-8 byte-order mark is dropped), at most
    ``MAX_CONFIG_BYTES``; raises ConfigError for anything else."""
    data = _read_bounded(path)
    for bom, name in _OTHER_BOMS:
        if data.startswith(bom):
            raise ConfigError(
                f"{path}:1:1: the file is {name} (its byte-order mark says so); Slipway reads "
                + _CONVERT.format(enc=name, path=path)
            )
    data = data.removeprefix(codecs.BOM_UTF8)
    nul = data.find(b"\0")
    if nul >= 0:
        raise ConfigError(f"{_where(path, data, nul)}: {_nul_reason(data, path)}")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        bad = data[exc.start]
        raise ConfigError(
            f"{_where(path, data, exc.start)}: byte 0x{bad:02x} is not UTF-8; Slipway reads "
            + _CONVERT.format(enc="LATIN1", path=path)
        ) from None


def _read_bounded(path: Path) -> bytes:
    try:
        with path.open("rb") as fh:
            # One byte past the limit tells "too big" without reading all of /dev/zero.
            data = fh.read(MAX_CONFIG_BYTES + 1)
    except FileNotFoundError:
        raise ConfigError(
            f"{path}: no such file; pass --config FILE or create pipeline.yaml "
            "(see the README for an example)"
        ) from None
    except IsADirectoryError:
        raise ConfigError(f"{path}: is a directory; pass --config FILE with the pipeline file") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None
    if len(data) > MAX_CONFIG_BYTES:
        raise ConfigError(
            f"{path}: larger than {MAX_CONFIG_BYTES // 1024} KiB; a pipeline file is a few KB: "
            "check that --config names the right file"
        )
    return data


def _nul_reason(data: bytes, path: Path) -> str:
    # UTF-16 text without a byte-order mark: the high byte of each ASCII character is
    # NUL, the low byte is not; a binary file has NULs in both halves.
    head = data[:200]
    even, odd = head[0::2].count(0) / len(head[0::2]), head[1::2].count(0) / max(len(head[1::2]), 1)
    if min(even, odd) < 0.1 and max(even, odd) > 0.9:
        return "the file looks like UTF-16 without a byte-order mark; Slipway reads " + _CONVERT.format(
            enc="UTF-16", path=path
        )
    return "a NUL byte: this is a binary file, not YAML; check that --config names the pipeline file"


def _where(path: Path, data: bytes, offset: int) -> str:
    """file:line:column of byte ``offset`` (the column counts characters, not bytes)."""
    line = data.count(b"\n", 0, offset) + 1
    start = data.rfind(b"\n", 0, offset) + 1
    column = len(data[start:offset].decode("utf-8", errors="replace")) + 1
    return f"{path}:{line}:{column}"
