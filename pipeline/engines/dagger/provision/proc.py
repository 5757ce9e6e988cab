"""Running the build's tools (go, docker, apt) as argv lists, and saying what happens.

Every step prints one line as it starts (``==> [12s] ...``) and what it skipped; a tool
that fails ends the provisioning with its last lines of output. The module proxy's
refusals (403/404/410 on a module version) are read out of Go's output, so the error
names each refused module and version.
"""

from __future__ import annotations

import os
import re
import subprocess
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from pipeline.model.errors import EngineUnavailable

Emit = Callable[[str], None]
TAIL_LINES = 25

# go: github.com/x/y@v1.2.3: reading https://proxy.golang.org/.../@v/v1.2.3.info: 403 Forbidden
_REFUSED = re.compile(r"(?P<module>[\w.\-~/]+@v[\w.\-+]+): reading (?P<url>\S+): (?P<status>4\d\d)\b")


class ProvisionError(EngineUnavailable):
    """The engine could not be built or started (exit 2); the message says why and what to do."""


class ModuleRefused(ProvisionError):
    """The Go module proxy refused modules the build needs."""

    def __init__(self, refused: Sequence[tuple[str, str]], command: str) -> None:
        self.refused = tuple(refused)
        listed = "; ".join(f"{module} ({status})" for module, status in self.refused)
        super().__init__(
            f"the Go module proxy ({os.environ.get('GOPROXY') or 'proxy.golang.org'}) refused "
            f"what `{command}` needs: {listed}. Slipway's build recipe names a served version or "
            "a stub for each module it knows to be refused (engines/dagger/provision/pins.py); "
            "a new refusal needs one more"
        )


def refused_modules(output: str) -> list[tuple[str, str]]:
    """(module@version, HTTP status) for each version the proxy refused, in order, once each."""
    seen: dict[str, str] = {}
    for m in _REFUSED.finditer(output):
        seen.setdefault(m["module"], m["status"])
    return list(seen.items())


class Steps:
    """Progress lines with the time since the provisioning started."""

    def __init__(self, emit: Emit) -> None:
        self.emit = emit
        self.t0 = time.monotonic()

    def step(self, text: str) -> None:
        self.emit(f"==> [{time.monotonic() - self.t0:.0f}s] {text}")

    def info(self, text: str) -> None:
        self.emit(f"    {text}")

    def skip(self, text: str) -> None:
        self.emit(f"    skip: {text}")

    def run(
        self,
        argv: Sequence[str],
        *,
        cwd: Path | None = None,
        env: Mapping[str, str] | None = None,
        echo: bool = True,
        stdin: str | None = None,
    ) -> str:
        """Run ``argv``; its output (stdout and stderr together) is returned, and streamed
        to the console when ``echo``. A failure raises with the tail of the output."""
        self.info("$ " + " ".join(argv))
        full_env = {**os.environ, **(env or {})}
        tail: deque[str] = deque(maxlen=TAIL_LINES)
        lines: list[str] = []
        with subprocess.Popen(
            list(argv),
            cwd=cwd,
            env=full_env,
            stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
        ) as proc:
            if stdin is not None and proc.stdin is not None:
                proc.stdin.write(stdin)
                proc.stdin.close()
            assert proc.stdout is not None
            for raw in proc.stdout:
                line = raw.rstrip("\n")
                lines.append(line)
                tail.append(line)
                if echo:
                    self.info("  " + line)
            code = proc.wait()
        output = "\n".join(lines)
        if code != 0:
            refused = refused_modules(output)
            if refused:
                raise ModuleRefused(refused, " ".join(argv[:3]))
            raise ProvisionError(f"`{' '.join(argv)}` exited {code}:\n" + "\n".join(tail))
        return output
