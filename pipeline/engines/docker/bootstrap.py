"""Base images without a registry: debootstrap a Debian rootfs, import it, build on it.

Where no registry is reachable (our machines, air-gapped runners) the example's
images (``python:3.11-slim``, ``postgres:15``, ``node:20-slim``) cannot be pulled.
``bootstrap`` builds look-alikes from a Debian mirror, and ``pipeline.model.aliases``
maps the logical names to them. Every step is skipped when its image exists, so
a warm bootstrap takes seconds.
"""

from __future__ import annotations

import io
import shutil
import subprocess
import tarfile
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import docker
import docker.errors

from pipeline.engines.docker.errors import connect, docker_errors
from pipeline.engines.docker.images import image_exists
from pipeline.model.errors import EngineUnavailable, ImageBuildFailed

DEFAULT_MIRROR = "http://deb.debian.org/debian"
DEFAULT_CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
# /var/tmp survives reboots: a finished rootfs is reused instead of debootstrapped again.
DEFAULT_ROOTFS_DIR = Path("/var/tmp/slipway")  # noqa: S108

LABEL_BOOTSTRAP = "dev.slipway.bootstrap"

@dataclass(frozen=True, slots=True, kw_only=True)
class BaseImage:
    """One image bootstrap makes: a Dockerfile on top of an imported Debian rootfs."""

    tag: str
    suite: str  # Debian suite of the rootfs it builds on
    dockerfile: str
    extra_files: tuple[tuple[str, str, int], ...] = ()  # (name in context, content, mode)
    default: bool = True  # built by a bare `images bootstrap`

    @property
    def rootfs_tag(self) -> str:
        return f"local/debian:{self.suite}"


# apt in a Dockerfile: no prompts, no recommends, no lists left in the layer.
_APT = (
    "export DEBIAN_FRONTEND=noninteractive && apt-get update"
    " && apt-get install -y --no-install-recommends {packages}"
    " && rm -rf /var/lib/apt/lists/*"
)

# The host bundle is appended to the image's trust store, so pip/npm/curl trust the
# proxy's CA with no variable set; the engine still names it for tools that ignore it.
_TRUST_HOST_CA = (
    "COPY host-ca.crt /usr/local/share/ca-certificates/slipway-host-ca.crt\n"
    "RUN update-ca-certificates >/dev/null\n"
    "ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt"
    " REQUESTS_CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt"
    " PIP_CERT=/etc/ssl/certs/ca-certificates.crt"
    " NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt\n"
)


def python_dockerfile(suite: str) -> str:
    """Debian's python3 made to behave like python:*-slim (pip installs system-wide)."""
    return f"""\
FROM local/debian:{suite}
RUN {_APT.format(packages="python3 python3-venv python3-pip python-is-python3 ca-certificates")} \\
 && rm -f /usr/lib/python3*/EXTERNALLY-MANAGED
{_TRUST_HOST_CA}\
ENV LANG=C.UTF-8 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_ROOT_USER_ACTION=ignore
CMD ["python3"]
"""


NODE_DOCKERFILE = f"""\
FROM local/debian:trixie
RUN {_APT.format(packages="nodejs npm ca-certificates")}
{_TRUST_HOST_CA}\
ENV LANG=C.UTF-8
CMD ["node"]
"""

# Like the official image's entrypoint, reduced to what CI uses: POSTGRES_USER,
# POSTGRES_PASSWORD, POSTGRES_DB (and POSTGRES_HOST_AUTH_METHOD), initdb on first
# start with a socket-only temporary server, then the real one on 0.0.0.0:5432.
POSTGRES_ENTRYPOINT = """\
#!/bin/sh
set -eu
: "${PGDATA:=/var/lib/postgresql/data}"
: "${POSTGRES_USER:=postgres}"
: "${POSTGRES_DB:=$POSTGRES_USER}"
: "${POSTGRES_PASSWORD:=}"
if [ -n "$POSTGRES_PASSWORD" ]; then auth="${POSTGRES_HOST_AUTH_METHOD:-scram-sha-256}"
else auth="${POSTGRES_HOST_AUTH_METHOD:-trust}"; fi
as_pg() { setpriv --reuid=postgres --regid=postgres --init-groups "$@"; }
mkdir -p "$PGDATA" /var/run/postgresql
chown postgres:postgres "$PGDATA" /var/run/postgresql
chmod 700 "$PGDATA"
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  pwfile=$(mktemp)
  printf '%s\\n' "$POSTGRES_PASSWORD" > "$pwfile"
  chown postgres "$pwfile"
  if [ -n "$POSTGRES_PASSWORD" ]; then pwopt="--pwfile=$pwfile"; else pwopt=""; fi
  as_pg initdb -D "$PGDATA" --username="$POSTGRES_USER" $pwopt \\
    --encoding=UTF8 --locale=C.UTF-8 --auth-local=trust --auth-host="$auth" >/dev/null
  rm -f "$pwfile"
  printf 'host all all all %s\\n' "$auth" >> "$PGDATA/pg_hba.conf"
  as_pg pg_ctl -D "$PGDATA" -o "-c listen_addresses=''" -w start >/dev/null
  if [ "$POSTGRES_DB" != "postgres" ]; then
    as_pg psql -v ON_ERROR_STOP=1 -U "$POSTGRES_USER" -d postgres -q \\
      -c "CREATE DATABASE \\"$POSTGRES_DB\\"" >/dev/null
  fi
  as_pg pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
  echo "PostgreSQL init process complete; ready for start up."
fi
if [ "$#" -eq 0 ] || [ "${1#-}" != "$1" ]; then set -- postgres "$@"; fi
if [ "$1" = "postgres" ]; then
  shift
  exec setpriv --reuid=postgres --regid=postgres --init-groups \\
    postgres -D "$PGDATA" -c listen_addresses='*' "$@"
fi
exec "$@"
"""

POSTGRES_DOCKERFILE = f"""\
FROM local/debian:bookworm
# No default cluster: the entrypoint makes one in $PGDATA on first start.
RUN mkdir -p /etc/postgresql-common \\
 && echo 'create_main_cluster = false' > /etc/postgresql-common/createcluster.conf \\
 && {_APT.format(packages="postgresql-15 ca-certificates")}
{_TRUST_HOST_CA}\
COPY docker-entrypoint.sh /usr/local/bin/docker-entrypoint.sh
ENV PATH=/usr/lib/postgresql/15/bin:$PATH PGDATA=/var/lib/postgresql/data LANG=C.UTF-8
STOPSIGNAL SIGINT
EXPOSE 5432
HEALTHCHECK --interval=1s --timeout=3s --retries=60 \\
  CMD pg_isready -h 127.0.0.1 -p 5432 -q || exit 1
ENTRYPOINT ["/usr/local/bin/docker-entrypoint.sh"]
CMD ["postgres"]
"""

BASE_IMAGES: tuple[BaseImage, ...] = (
    BaseImage(tag="slipway/python:3.11", suite="bookworm", dockerfile=python_dockerfile("bookworm")),
    BaseImage(
        tag="slipway/postgres:15",
        suite="bookworm",
        dockerfile=POSTGRES_DOCKERFILE,
        extra_files=(("docker-entrypoint.sh", POSTGRES_ENTRYPOINT, 0o755),),
    ),
    BaseImage(tag="slipway/node:20", suite="trixie", dockerfile=NODE_DOCKERFILE),
    # Python >= 3.12 for targets that need it: trixie's 3.13. Built only on request
    # (`images bootstrap slipway/python:3.13`) and aliased in pipeline.yaml.
    BaseImage(
        tag="slipway/python:3.13",
        suite="trixie",
        dockerfile=python_dockerfile("trixie"),
        default=False,
    ),
)

@dataclass(frozen=True, slots=True, kw_only=True)
class BootstrapStep:
    """What bootstrap did for one image: ``built`` or ``reused``, and how long it took."""

    image: str
    action: str
    seconds: float


Echo = Callable[[str], None]


def bootstrap(
    *,
    images: tuple[str, ...] = (),
    mirror: str = DEFAULT_MIRROR,
    ca_bundle: Path | None = DEFAULT_CA_BUNDLE,
    rootfs_dir: Path = DEFAULT_ROOTFS_DIR,
    rebuild: bool = False,
    echo: Echo = print,
    client: docker.DockerClient | None = None,
) -> list[BootstrapStep]:
    """Build the base images (the default ones, or those tagged in ``images``) that are missing.

    Raises ``EngineUnavailable`` when the daemon is unreachable or debootstrap is
    missing, ``ImageBuildFailed`` when a Dockerfile step fails.
    """
    wanted = [b for b in BASE_IMAGES if (b.tag in images if images else b.default)]
    unknown = set(images) - {b.tag for b in BASE_IMAGES}
    if unknown:
        known = ", ".join(b.tag for b in BASE_IMAGES)
        raise EngineUnavailable(f"unknown base image(s) {sorted(unknown)}; known: {known}")
    client = client or connect()
    steps: list[BootstrapStep] = []
    imported: set[str] = set()
    for base in wanted:
        start = time.monotonic()
        if not rebuild and image_exists(client.api, base.tag):
            echo(f"{base.tag} present, reused")
            steps.append(BootstrapStep(image=base.tag, action="reused", seconds=0.0))
            continue
        if base.rootfs_tag not in imported and (rebuild or not image_exists(client.api, base.rootfs_tag)):
            echo(f"building {base.rootfs_tag} (debootstrap {base.suite} from {mirror})")
            _import_rootfs(client, base.suite, rootfs_dir / base.suite, mirror, echo)
            imported.add(base.rootfs_tag)  # --rebuild: once per suite, not per image
        else:
            echo(f"{base.rootfs_tag} present, reused")
        echo(f"building {base.tag}")
        _build_base(client, base, ca_bundle, echo)
        seconds = time.monotonic() - start
        echo(f"{base.tag} built in {seconds:.0f}s")
        steps.append(BootstrapStep(image=base.tag, action="built", seconds=seconds))
    return steps


def _import_rootfs(client: docker.DockerClient, suite: str, target: Path, mirror: str, echo: Echo) -> None:
    """debootstrap (unless a finished rootfs is already there), then ``docker import``."""
    if shutil.which("debootstrap") is None:
        raise EngineUnavailable(
            "debootstrap is not installed: apt-get install -y debootstrap "
            "(it builds the Debian base images when no registry is reachable)"
        )
    # debootstrap leaves /debootstrap behind only when it did not finish.
    finished = (target / "etc/debian_version").exists() and not (target / "debootstrap").exists()
    if not finished:
        if target.exists():
            shutil.rmtree(target)
        target.parent.mkdir(parents=True, exist_ok=True)
        proc = subprocess.run(
            ["debootstrap", "--variant=minbase", suite, str(target), mirror],
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.returncode != 0:
            tail = "\n".join(proc.stdout.splitlines()[-15:] + proc.stderr.splitlines()[-15:])
            raise ImageBuildFailed(
                f"debootstrap {suite} from {mirror} failed (exit {proc.returncode}); "
                f"check the mirror (--mirror) and network:\n{tail}"
            )
    echo(f"importing {target} as local/debian:{suite}")
    with tempfile.TemporaryFile() as tarball:
        # GNU tar keeps device nodes, owners and xattrs exactly as debootstrap made them.
        subprocess.run(
            ["tar", "--numeric-owner", "-C", str(target), "-c", "."],
            stdout=tarball,
            check=True,
        )
        tarball.seek(0)
        with docker_errors(f"import local/debian:{suite}"):
            client.api.import_image(
                src=tarball,
                repository="local/debian",
                tag=suite,
                changes=[f"LABEL {LABEL_BOOTSTRAP}=rootfs", 'CMD ["bash"]'],
            )


def _build_base(client: docker.DockerClient, base: BaseImage, ca_bundle: Path | None, echo: Echo) -> None:
    ca_text = ca_bundle.read_text() if ca_bundle and ca_bundle.is_file() else ""
    files = [("Dockerfile", base.dockerfile, 0o644), ("host-ca.crt", ca_text, 0o644)]
    files.extend(base.extra_files)
    context = _context_tar(files)
    with docker_errors(f"build {base.tag}"):
        stream = client.api.build(
            fileobj=context,
            custom_context=True,
            tag=base.tag,
            pull=False,
            rm=True,
            forcerm=True,
            labels={LABEL_BOOTSTRAP: "base"},
            decode=True,
        )
        tail: list[str] = []
        for line in _build_lines(stream):
            tail = [*tail[-30:], line]
            if line.startswith("Step "):
                echo(f"  {base.tag}: {line}")
            if line.startswith("ERROR: "):
                raise ImageBuildFailed(f"building {base.tag} failed:\n" + "\n".join(tail))


def _build_lines(stream: Iterator[dict[str, object]]) -> Iterator[str]:
    """Text lines of a decoded build stream; an error item becomes an ``ERROR:`` line."""
    for item in stream:
        if "error" in item:
            yield f"ERROR: {item['error']}"
            return
        text = item.get("stream")
        if isinstance(text, str):
            yield from (ln for ln in text.splitlines() if ln.strip())


def _context_tar(files: list[tuple[str, str, int]]) -> io.BytesIO:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, content, mode in files:
            data = content.encode()
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), mode, int(time.time())
            tar.addfile(info, io.BytesIO(data))
    buf.seek(0)
    return buf
