"""The S3 store: any S3-compatible bucket (AWS, MinIO, R2, Ceph) through boto3.

Credentials come from boto3's default chain (``AWS_ACCESS_KEY_ID`` /
``AWS_SECRET_ACCESS_KEY`` / ``AWS_SESSION_TOKEN``, profiles, instance roles).
Every call has short timeouts and few retries: a remote cache that answers slowly is
worth less than running the job, so an outage costs seconds once, then the store is
switched off for the run (see ``EntryStore``). botocore's errors become
``BackendError`` here and nowhere else.
"""

from __future__ import annotations

import builtins
import os
import shutil
import tempfile
import time
import weakref
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any, TypedDict, TypeVar, Unpack

import boto3
import boto3.exceptions
import boto3.session
import botocore.exceptions
from boto3.s3.transfer import TransferConfig
from botocore.config import Config

from pipeline.cache.backend import BackendError, ObjectInfo
from pipeline.cache.entries import EntryStore

T = TypeVar("T")

CONNECT_TIMEOUT_S = 3.0
READ_TIMEOUT_S = 5.0
MAX_ATTEMPTS = 3  # botocore counts the first try

# Errors that say "the endpoint is not there (or not answering)": stop trying.
_UNREACHABLE = (
    botocore.exceptions.EndpointConnectionError,
    botocore.exceptions.ConnectTimeoutError,
    botocore.exceptions.ReadTimeoutError,
    botocore.exceptions.ConnectionClosedError,
    botocore.exceptions.NoCredentialsError,
    botocore.exceptions.PartialCredentialsError,
)
_NOT_FOUND_CODES = {"404", "NoSuchKey", "NotFound"}
_FATAL_CODES = {"NoSuchBucket", "InvalidAccessKeyId", "SignatureDoesNotMatch"}


class S3Connection(TypedDict, total=False):
    """How ``S3Store`` reaches its bucket: ``S3Backend``'s keyword arguments, its defaults."""

    endpoint_url: str | None
    region: str | None
    connect_timeout: float
    read_timeout: float
    max_attempts: int


def _is_not_found(exc: BaseException) -> bool:
    if isinstance(exc, botocore.exceptions.ClientError):
        return str(exc.response.get("Error", {}).get("Code")) in _NOT_FOUND_CODES
    return False


def _translate(exc: BaseException, what: str) -> BackendError:
    """Map boto3/botocore errors to ours, deciding whether the store is usable at all."""
    cause: BaseException = exc
    # boto3's transfer layer re-raises the real error inside its own (as cause or
    # context); look through it to classify.
    while not isinstance(cause, (*_UNREACHABLE, botocore.exceptions.ClientError)):
        inner = cause.__cause__ or cause.__context__
        if inner is None:
            break
        cause = inner
    unreachable = isinstance(cause, _UNREACHABLE)
    if isinstance(cause, botocore.exceptions.ClientError):
        code = str(cause.response.get("Error", {}).get("Code"))
        unreachable = code in _FATAL_CODES
    return BackendError(f"{what}: {exc}", unreachable=unreachable)


class S3Backend:
    """Objects under ``s3://bucket/prefix/``."""

    kind = "s3"

    def __init__(
        self,
        bucket: str,
        *,
        prefix: str = "",
        endpoint_url: str | None = None,
        region: str | None = None,
        connect_timeout: float = CONNECT_TIMEOUT_S,
        read_timeout: float = READ_TIMEOUT_S,
        max_attempts: int = MAX_ATTEMPTS,
    ) -> None:
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.endpoint_url = endpoint_url
        session = boto3.session.Session()
        config = Config(
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            retries={"max_attempts": max_attempts, "mode": "standard"},
            # MinIO and Ceph serve buckets by path, not by virtual host name.
            s3={"addressing_style": "path" if endpoint_url else "auto"},
        )
        self._client: Any = session.client(
            "s3",
            endpoint_url=endpoint_url,
            region_name=region or session.region_name or "us-east-1",
            config=config,
        )
        # Threads speed up large volume archives; small blobs stay single-part.
        self._transfer = TransferConfig(multipart_threshold=64 * 1024 * 1024, max_concurrency=4)
        self._scratch = Path(tempfile.mkdtemp(prefix="slipway-s3-"))
        # Downloaded blobs are temp copies: removed when the store goes away or at exit.
        self._cleanup = weakref.finalize(self, shutil.rmtree, self._scratch, ignore_errors=True)

    @property
    def description(self) -> str:
        where = f"s3://{self.bucket}/{self.prefix}".rstrip("/")
        return f"{where} at {self.endpoint_url}" if self.endpoint_url else where

    @property
    def scratch(self) -> Path:
        return self._scratch

    def close(self) -> None:
        self._cleanup()

    def _key(self, name: str) -> str:
        return f"{self.prefix}/{name}" if self.prefix else name

    def _call(self, what: str, fn: Callable[[], T]) -> T:
        try:
            return fn()
        except (
            botocore.exceptions.BotoCoreError,
            botocore.exceptions.ClientError,
            boto3.exceptions.Boto3Error,
        ) as exc:
            raise _translate(exc, what) from exc

    def read(self, name: str) -> bytes | None:
        def get() -> bytes | None:
            try:
                response = self._client.get_object(Bucket=self.bucket, Key=self._key(name))
            except botocore.exceptions.ClientError as exc:
                if _is_not_found(exc):
                    return None
                raise
            body: bytes = response["Body"].read()
            return body

        return self._call(f"read {name}", get)

    def write(self, name: str, data: bytes) -> None:
        # A single PUT is atomic in S3: readers see the old object or the new one.
        self._call(
            f"write {name}",
            lambda: self._client.put_object(Bucket=self.bucket, Key=self._key(name), Body=data),
        )

    def fetch(self, name: str) -> Path | None:
        fd, tmp = tempfile.mkstemp(prefix="blob-", dir=self.scratch)
        path = Path(tmp)
        os.close(fd)

        def download() -> Path | None:
            try:
                self._client.download_file(self.bucket, self._key(name), tmp, Config=self._transfer)
            except botocore.exceptions.ClientError as exc:
                if _is_not_found(exc):
                    return None
                raise
            return path

        try:
            result = self._call(f"download {name}", download)
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        if result is None:
            path.unlink(missing_ok=True)
        return result

    def store(self, name: str, src: Path) -> None:
        try:
            self._call(
                f"upload {name}",
                lambda: self._client.upload_file(
                    str(src), self.bucket, self._key(name), Config=self._transfer
                ),
            )
        finally:
            src.unlink(missing_ok=True)

    def touch(self, name: str) -> None:
        self.write(name, b"")

    def list(self, prefix: str) -> builtins.list[ObjectInfo]:
        def list_all() -> builtins.list[ObjectInfo]:
            found: list[ObjectInfo] = []
            strip = len(self._key(""))
            paginator = self._client.get_paginator("list_objects_v2")
            for page in paginator.paginate(Bucket=self.bucket, Prefix=self._key(prefix)):
                for obj in page.get("Contents", []):
                    found.append(ObjectInfo(obj["Key"][strip:], obj["Size"], obj["LastModified"]))
            return found

        return self._call(f"list {prefix}", list_all)

    def delete(self, name: str) -> None:
        self._call(
            f"delete {name}",
            lambda: self._client.delete_object(Bucket=self.bucket, Key=self._key(name)),
        )

    def clean_scratch(self, older_than: timedelta) -> None:
        cutoff = time.time() - older_than.total_seconds()
        for path in self.scratch.iterdir():
            if path.stat().st_mtime < cutoff:
                path.unlink(missing_ok=True)


class S3Store(EntryStore):
    """Entries and named objects in an S3-compatible bucket, best-effort."""

    def __init__(
        self,
        bucket: str,
        *,
        prefix: str = "slipway",
        **connection: Unpack[S3Connection],
    ) -> None:
        self.backend = S3Backend(bucket, prefix=prefix, **connection)
        super().__init__(self.backend)

    def close(self) -> None:
        """Remove the temp copies of downloaded blobs (also done at exit)."""
        self.backend.close()
