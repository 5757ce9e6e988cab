"""The OCI distribution API, over httpx: read a tag's digest, point a tag at a digest.

Promotion between environments is a manifest PUT: the manifest that a digest
names is fetched and stored again under a new tag. No layer moves, nothing is
pulled or rebuilt, and the new tag names exactly the same digest.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import httpx

from pipeline.model.errors import SlipwayError

# Every manifest kind a build may push; the registry answers with the stored one.
MANIFEST_TYPES = (
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.docker.distribution.manifest.v2+json",
)
ACCEPT = ", ".join(MANIFEST_TYPES)


class RegistryError(SlipwayError):
    """The registry refused or could not be reached; the message says which and why."""


@dataclass(frozen=True, slots=True)
class Manifest:
    digest: str
    media_type: str
    body: bytes


def split_ref(ref: str) -> tuple[str, str, str]:
    """``host:port/repo/name:tag`` or ``...@sha256:..`` -> (host, repository, tag or digest)."""
    host, _, rest = ref.partition("/")
    if not rest or ("." not in host and ":" not in host and host != "localhost"):
        raise RegistryError(f"{ref!r} does not name a registry host (expected host[:port]/repository:tag)")
    if "@" in rest:
        repo, _, ident = rest.partition("@")
    else:
        repo, _, ident = rest.rpartition(":") if ":" in rest.rsplit("/", 1)[-1] else (rest, "", "latest")
    return host, repo, ident


class RegistryClient:
    """A client for one registry (``host:port``); basic auth when a password is given."""

    def __init__(
        self,
        host: str,
        *,
        insecure: bool = False,
        username: str | None = None,
        password: str | None = None,
        timeout: float = 30.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.host = host
        scheme = "http" if insecure else "https"
        auth = httpx.BasicAuth(username or "", password) if password is not None else None
        self._http = httpx.AsyncClient(
            base_url=f"{scheme}://{host}/v2/", auth=auth, timeout=timeout, transport=transport
        )

    async def __aenter__(self) -> RegistryClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def ping(self) -> None:
        await self._request("GET", "", what="reach the registry")

    async def digest(self, repo: str, ref: str) -> str:
        """The digest a tag (or digest) names, from a HEAD of its manifest."""
        resp = await self._request("HEAD", f"{repo}/manifests/{ref}", what=f"read {repo}:{ref}")
        digest = resp.headers.get("Docker-Content-Digest")
        if digest:
            return str(digest)
        return (await self.manifest(repo, ref)).digest  # registries need not send the header

    async def manifest(self, repo: str, ref: str) -> Manifest:
        resp = await self._request("GET", f"{repo}/manifests/{ref}", what=f"read {repo}:{ref}")
        body = resp.content
        # The digest is of the exact bytes: compute it rather than trust a header.
        digest = "sha256:" + hashlib.sha256(body).hexdigest()
        media_type = resp.headers.get("Content-Type", MANIFEST_TYPES[-1]).split(";")[0]
        return Manifest(digest=digest, media_type=media_type, body=body)

    async def tag(self, repo: str, digest: str, tag: str) -> str:
        """Point ``repo:tag`` at ``digest`` (promotion); returns the digest the registry stored."""
        man = await self.manifest(repo, digest)
        if man.digest != digest:
            raise RegistryError(f"{repo}@{digest}: the registry served a manifest of digest {man.digest}")
        resp = await self._request(
            "PUT",
            f"{repo}/manifests/{tag}",
            what=f"tag {repo}@{digest} as {tag}",
            content=man.body,
            headers={"Content-Type": man.media_type},
        )
        stored = str(resp.headers.get("Docker-Content-Digest") or man.digest)
        if stored != digest:
            raise RegistryError(f"tagging {repo}:{tag} stored digest {stored}, not {digest}")
        return stored

    async def tags(self, repo: str) -> list[str]:
        resp = await self._request("GET", f"{repo}/tags/list", what=f"list tags of {repo}")
        return list(resp.json().get("tags") or [])

    async def _request(
        self,
        method: str,
        path: str,
        *,
        what: str,
        content: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        try:
            resp = await self._http.request(
                method, path, content=content, headers={"Accept": ACCEPT, **(headers or {})}
            )
        except httpx.HTTPError as exc:
            raise RegistryError(
                f"could not {what} at {self.host}: {exc!r}; is the registry running "
                "(and is registry.insecure right for it)?"
            ) from exc
        if resp.status_code == 401:
            raise RegistryError(
                f"could not {what} at {self.host}: unauthorized; set registry.username and "
                "registry.password_secret in pipeline.yaml and export the secret"
            )
        if resp.status_code == 404:
            raise RegistryError(f"could not {what} at {self.host}: not found")
        if resp.status_code >= 400:
            raise RegistryError(f"could not {what} at {self.host}: HTTP {resp.status_code} {resp.text[:200]}")
        return resp
