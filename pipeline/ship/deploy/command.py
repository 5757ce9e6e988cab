"""The ``command`` deploy target: the user's script, told what to deploy.

A deploy command (and a command health probe) gets a small environment: what a
program needs to run and to reach the Docker daemon, a proxy and the CA bundle
(``RUNNER_VARS``), then the stage's ``env``, its declared secrets and what to
deploy. Never the rest of the runner's environment: CI tokens and cloud
credentials reach a script only when the stage names them.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping

import anyio

from pipeline.model.joblog import JobLog

RUNNER_VARS = (
    "PATH",
    "HOME",
    "USER",
    "LOGNAME",
    "SHELL",
    "TERM",
    "LANG",
    "LC_ALL",
    "LC_CTYPE",
    "TZ",
    "TMPDIR",
    "DOCKER_HOST",
    "DOCKER_CONTEXT",
    "DOCKER_CONFIG",
    "DOCKER_CERT_PATH",
    "DOCKER_TLS_VERIFY",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
    "no_proxy",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "REQUESTS_CA_BUNDLE",
    "CURL_CA_BUNDLE",
    "NODE_EXTRA_CA_CERTS",
)


def runner_env(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The part of the runner's environment a deploy command or probe gets."""
    env = os.environ if environ is None else environ
    return {name: env[name] for name in RUNNER_VARS if name in env}


def command_env(environment: str, images: Mapping[str, Mapping[str, str]], git_sha: str) -> dict[str, str]:
    """What to deploy: IMAGE, TAG, DIGEST, IMAGE_REF of the first image, ENVIRONMENT,
    GIT_SHA, and ``IMAGE_<TARGET>`` for each."""
    first = next(iter(images.values()))
    out = {
        "IMAGE": first.get("repository") or first["ref"].rsplit(":", 1)[0],
        "TAG": f"{environment}-{git_sha}",
        "DIGEST": first.get("digest", ""),
        "IMAGE_REF": first["ref"],
        "ENVIRONMENT": environment,
        "GIT_SHA": git_sha,
    }
    for target, info in images.items():
        out[f"IMAGE_{target.upper().replace('-', '_')}"] = info["ref"]
    return out


async def run_command(
    argv: tuple[str, ...], env: Mapping[str, str], *, cwd: str, timeout_s: float, log: JobLog
) -> tuple[bool, str]:
    """Run ``argv`` with ``runner_env()`` plus ``env``; its output goes to ``log``."""
    try:
        with anyio.fail_after(timeout_s):
            done = await anyio.run_process(
                list(argv),
                check=False,
                env={**runner_env(), **env},
                cwd=cwd,
                stderr=subprocess.STDOUT,
            )
    except TimeoutError:
        return False, f"{argv[0]} timed out after {timeout_s}s"
    except OSError as exc:
        return False, f"could not run {argv[0]}: {exc}"
    for line in done.stdout.decode("utf-8", errors="replace").splitlines():
        log.line(line)
    return done.returncode == 0, f"{argv[0]} exited {done.returncode}"
