"""Service containers the tests need: from compose files and the CI's service blocks.

Every definition is kept with where it is written; one per kind (postgres, redis ...)
is chosen, the CI's first (that is what the tests run against there), then the
compose file's. With no definition but a PostgreSQL driver among the dependencies,
a postgres service is guessed, its user, password and database from a default
database URL in the code when there is one.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

from pipeline.detect.context import Context
from pipeline.detect.dependencies import Dependencies
from pipeline.detect.findings import Finding, Question, Source, detected, guessed
from pipeline.detect.repo import parent

_COMPOSE_NAMES = (
    "compose.yaml",
    "compose.yml",
    "docker-compose.yaml",
    "docker-compose.yml",
    "compose.*.yaml",
    "compose.*.yml",
    "docker-compose.*.yaml",
    "docker-compose.*.yml",
)
_KINDS = {
    "postgres": "postgres",
    "postgis": "postgres",
    "timescaledb": "postgres",
    "mysql": "mysql",
    "mariadb": "mariadb",
    "redis": "redis",
    "valkey": "redis",
    "mongo": "mongo",
    "rabbitmq": "rabbitmq",
    "elasticsearch": "elasticsearch",
    "opensearch": "elasticsearch",
    "memcached": "memcached",
    "minio": "s3",
    "localstack": "s3",
    "mailhog": "mail",
    "mailpit": "mail",
    "kafka": "kafka",
    "nats": "nats",
}
_DEFAULT_PORTS = {
    "postgres": 5432,
    "mysql": 3306,
    "mariadb": 3306,
    "redis": 6379,
    "mongo": 27017,
    "rabbitmq": 5672,
    "elasticsearch": 9200,
    "memcached": 11211,
}
_PG_DRIVERS = ("psycopg", "psycopg2", "psycopg2-binary", "psycopg-binary", "asyncpg", "pg8000", "psycopg-c")
_PG_URL = re.compile(r"""["'](postgres(?:ql)?(?:\+\w+)?://[^"'\s]+)["']""")
_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)")


@dataclass(frozen=True, slots=True)
class Service:
    name: str
    image: str
    kind: str  # postgres, redis, mysql ... or "other"
    version: str | None  # the image tag's major version ("15" for postgres:15-alpine)
    env: Mapping[str, str]
    port: int | None  # the port inside the container
    origin: str  # compose | github | gitlab | woodpecker | dependencies

    @property
    def user(self) -> str | None:
        """For postgres: the superuser the image creates (its default is postgres)."""
        return self.env.get("POSTGRES_USER", "postgres") if self.kind == "postgres" else None

    @property
    def password(self) -> str | None:
        return self.env.get("POSTGRES_PASSWORD") if self.kind == "postgres" else None

    @property
    def database(self) -> str | None:
        """For postgres: the database the image creates (POSTGRES_DB, else the user's name)."""
        return self.env.get("POSTGRES_DB", self.user or "postgres") if self.kind == "postgres" else None


@dataclass(frozen=True, slots=True)
class Services:
    found: tuple[Finding[Service], ...]  # every definition, as written
    chosen: tuple[Finding[Service], ...]  # one per kind
    postgres: Finding[Service] | None
    questions: tuple[Question, ...]

    def kind(self, kind: str) -> Finding[Service] | None:
        return next((s for s in self.chosen if s.value.kind == kind), None)


def kind_of(image: str) -> tuple[str, str | None]:
    """(kind, major version) of an image reference: ``postgres:17-alpine`` -> ("postgres", "17")."""
    ref = image.split("@", 1)[0]
    name, _, tag = ref.rpartition(":") if ":" in ref.rsplit("/", 1)[-1] else (ref, "", "")
    base = name.rsplit("/", 1)[-1].lower()
    kind = next((k for prefix, k in _KINDS.items() if base == prefix or base.startswith(prefix)), "other")
    m = re.match(r"^v?(\d+)", tag)
    return kind, (m.group(1) if m else None)


def _port(value: Any) -> int | None:
    """The container side of a port mapping: 5432, "5432:5432", "127.0.0.1:15432:5432/tcp", {target: 5432}."""
    if isinstance(value, dict):
        value = value.get("target")
    text = str(value or "").split("/")[0]
    last = text.rsplit(":", 1)[-1]
    return int(last) if last.isdigit() else None


def _interpolate(value: str, env: Mapping[str, str]) -> tuple[str, list[str]]:
    """Compose's ${VAR}, ${VAR:-default}, ${VAR-default}: (result, names left unknown)."""
    unknown: list[str] = []

    def sub(m: re.Match[str]) -> str:
        name = m.group(1) or m.group(4)
        if name in env:
            return env[name]
        if m.group(2) in (":-", "-"):
            return m.group(3) or ""
        unknown.append(name)
        return m.group(0)

    return _VAR.sub(sub, value), unknown


def _dotenv(ctx: Context, folder: str) -> dict[str, str]:
    out = {}
    for raw in (ctx.repo.text(ctx.repo.join(folder, ".env")) or "").splitlines():
        line = raw.strip()
        if line and not line.startswith("#") and "=" in line:
            key, _, value = line.partition("=")
            out[key.strip().removeprefix("export ").strip()] = value.strip().strip("\"'")
    return out


def _env(value: Any) -> dict[str, str]:
    if isinstance(value, dict):
        return {
            str(k): "" if v is None else str(v) for k, v in value.items() if not isinstance(v, (dict, list))
        }
    if isinstance(value, list):
        return {k.strip(): v for k, _, v in (str(i).partition("=") for i in value if "=" in str(i))}
    return {}


def compose_services(ctx: Context, questions: list[Question]) -> list[Finding[Service]]:
    out: list[Finding[Service]] = []
    for rel in ctx.repo.named(*_COMPOSE_NAMES, max_depth=2):
        doc = ctx.repo.yaml_doc(rel)
        if doc is None or not isinstance(doc.data.get("services"), dict):
            continue
        dotenv = _dotenv(ctx, parent(rel))
        for name, spec in doc.data["services"].items():
            if not isinstance(spec, dict) or not isinstance(spec.get("image"), str):
                continue
            image, unknown = _interpolate(spec["image"], dotenv)
            env: dict[str, str] = {}
            for key, raw in _env(spec.get("environment")).items():
                env[key], more = _interpolate(raw, dotenv)
                unknown += more
            kind, version = kind_of(image)
            ports = spec.get("ports")
            port = next((p for p in map(_port, ports) if p), None) if isinstance(ports, list) else None
            src = Source(rel, doc.line("services", name))
            if unknown:
                questions.append(
                    Question(
                        "services",
                        f"{rel}: service {name!r} uses variables with no value or default: "
                        f"{', '.join(sorted(set(unknown)))}",
                        (src,),
                    )
                )
            out.append(
                detected(
                    Service(name, image, kind, version, env, port or _DEFAULT_PORTS.get(kind), "compose"),
                    src,
                    f"compose service {name!r}",
                )
            )
    return out


def ci_services(ctx: Context) -> list[Finding[Service]]:
    out: list[Finding[Service]] = []
    seen: set[tuple[str, str, str]] = set()
    for job in ctx.ci.jobs:
        for svc in job.services:
            key = (svc.source.path, svc.name, svc.image)
            if key in seen:
                continue
            seen.add(key)
            kind, version = kind_of(svc.image)
            port = next((p for p in map(_port, svc.ports) if p), None)
            env = dict(svc.env)
            if job.system == "gitlab":
                # GitLab hands every job variable to its services; keep the image's own.
                env = {
                    k: v
                    for k, v in env.items()
                    if k.startswith(("POSTGRES_", "MYSQL_", "MARIADB_", "REDIS_", "MONGO_"))
                }
            out.append(
                detected(
                    Service(
                        svc.name, svc.image, kind, version, env, port or _DEFAULT_PORTS.get(kind), job.system
                    ),
                    svc.source,
                    f"{job.system} job {job.name!r}: service {svc.name!r}",
                )
            )
    return out


def default_database_url(ctx: Context) -> tuple[str, Source] | None:
    """A PostgreSQL URL written as a default in the project's code (settings, config, conftest)."""
    candidates = ctx.repo.glob("*.py", "**/*.py", under=ctx.project)
    # Settings and config modules first: they hold the app's default, conftests the tests'.
    candidates.sort(key=lambda r: (not re.search(r"settings|config|db|database", r.rsplit("/", 1)[-1]), r))
    for rel in candidates:
        text = ctx.repo.text(rel) or ""
        m = _PG_URL.search(text)
        if m:
            line = text[: m.start()].count("\n") + 1
            return m.group(1), Source(rel, line)
    return None


def url_parts(url: str) -> dict[str, str]:
    parts = urlsplit(url)
    out = {}
    if parts.username:
        out["user"] = unquote(parts.username)
    if parts.password:
        out["password"] = unquote(parts.password)
    if parts.path.strip("/"):
        out["database"] = parts.path.strip("/")
    if parts.hostname:
        out["host"] = parts.hostname
    if parts.port:
        out["port"] = str(parts.port)
    return out


def detect_services(ctx: Context, deps: Dependencies) -> Services:
    questions: list[Question] = []
    from_ci = ci_services(ctx)
    from_compose = compose_services(ctx, questions)
    found = [*from_ci, *from_compose]
    chosen: list[Finding[Service]] = []
    for svc in found:
        kind = svc.value.kind
        if kind == "other":
            # Only the CI's own extra services are for the tests; compose's other containers are the app.
            if svc.value.origin != "compose" and all(c.value.name != svc.value.name for c in chosen):
                chosen.append(svc)
            continue
        if any(c.value.kind == kind for c in chosen):
            continue
        chosen.append(svc)
    for kind in {s.value.kind for s in found if s.value.kind != "other"}:
        same = [s for s in found if s.value.kind == kind]
        versions = sorted({s.value.version or "latest" for s in same})
        if len(versions) > 1:
            questions.append(
                Question(
                    "services",
                    f"{kind} versions differ between definitions: {', '.join(versions)}; the CI's was taken",
                    tuple(s.source for s in same if s.source),
                    tuple(versions),
                )
            )
        if kind == "postgres":
            users = {s.value.user for s in same}
            if len(users) > 1:
                questions.append(
                    Question(
                        "services",
                        "postgres users differ between definitions: "
                        f"{', '.join(sorted(u or '' for u in users))}",
                        tuple(s.source for s in same if s.source),
                    )
                )
    postgres = next((s for s in chosen if s.value.kind == "postgres"), None)
    if postgres is None:
        driver = deps.has(*_PG_DRIVERS)
        django_pg = _django_postgres(ctx)
        if driver is not None or django_pg is not None:
            postgres = _guess_postgres(ctx, driver or django_pg, questions)
            chosen.append(postgres)
    elif postgres.value.password is None and postgres.value.env.get("POSTGRES_HOST_AUTH_METHOD") != "trust":
        questions.append(
            Question(
                "services",
                f"postgres service {postgres.value.name!r} sets no POSTGRES_PASSWORD: "
                "the image will not start without one",
                (postgres.source,) if postgres.source else (),
            )
        )
    return Services(tuple(found), tuple(chosen), postgres, tuple(questions))


def _django_postgres(ctx: Context) -> Source | None:
    for rel in ctx.repo.named("settings.py", "settings*.py", "base.py", under=ctx.project, max_depth=3):
        line = ctx.repo.line_of(rel, r"django\.db\.backends\.postgresql")
        if line:
            return Source(rel, line)
    return None


def _guess_postgres(ctx: Context, why: Source | None, questions: list[Question]) -> Finding[Service]:
    env = {"POSTGRES_USER": "postgres", "POSTGRES_PASSWORD": "postgres"}
    note = "no service is defined, but the project uses PostgreSQL"
    url = default_database_url(ctx)
    if url is not None:
        parts = url_parts(url[0])
        env["POSTGRES_USER"] = parts.get("user", "postgres")
        env["POSTGRES_PASSWORD"] = parts.get("password", "postgres")
        note += f"; user and password from the default URL at {url[1]}"
    service = Service("postgres", "postgres", "postgres", None, env, 5432, "dependencies")
    questions.append(
        Question(
            "services",
            "no PostgreSQL service is defined (compose, CI): which major version do you run? "
            "The image is guessed as postgres with user "
            f"{env['POSTGRES_USER']!r}",
            tuple(s for s in (why, url[1] if url else None) if s),
        )
    )
    return guessed(service, why, note)
