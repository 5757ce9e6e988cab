"""The store a run uses, from ``cache:`` in pipeline.yaml and the environment.

A local directory always (``cache.dir``, else the user cache dir; ``SLIPWAY_CACHE_DIR``
wins over both), in front of an S3 bucket when one is configured (``cache.s3_bucket``,
or ``SLIPWAY_CACHE_S3_URL=s3://bucket/prefix`` so CI can set it without editing the
file; ``SLIPWAY_CACHE_S3_ENDPOINT`` for MinIO, R2, Ceph...).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from pipeline.cache.local import ENV_CACHE_DIR, default_cache_dir
from pipeline.cache.store import Store
from pipeline.cache.tiered import open_store
from pipeline.config import Config
from pipeline.config.model import Cache
from pipeline.model.errors import UsageError

ENV_S3_URL = "SLIPWAY_CACHE_S3_URL"
ENV_S3_ENDPOINT = "SLIPWAY_CACHE_S3_ENDPOINT"


def open_run_store(config: Config | None, environ: Mapping[str, str] | None = None) -> Store | None:
    """The run's store, or None when ``cache.enabled`` is false. Without a config (``cache
    ls`` outside a project) the defaults and the environment decide."""
    settings = config.model.cache if config is not None else Cache()
    if not settings.enabled:
        return None
    env = os.environ if environ is None else environ
    if env.get(ENV_CACHE_DIR):
        local_dir = Path(env[ENV_CACHE_DIR])
    elif settings.dir and config is not None:
        local_dir = config.base_dir / settings.dir
    else:
        local_dir = default_cache_dir()
    s3_url = env.get(ENV_S3_URL) or None
    if s3_url is None and settings.s3_bucket:
        s3_url = f"s3://{settings.s3_bucket}/{settings.s3_prefix.strip('/')}"
    endpoint = env.get(ENV_S3_ENDPOINT) or settings.s3_endpoint_url
    return open_store(local_dir=local_dir, s3_url=s3_url, endpoint_url=endpoint)


def describe_store(store: Store | None, *, no_cache: bool = False) -> str:
    """The one line a run prints about its cache."""
    if store is None:
        return "cache: off (cache.enabled is false in pipeline.yaml)"
    line = f"cache: {store.description}"
    if no_cache:
        line += " (--no-cache: every job runs; successes are stored)"
    return line


def admin_store(config: Config | None) -> Store:
    """The store ``cache ls`` / ``cache prune`` look at (the one runs would use)."""
    store = open_run_store(config)
    if store is None:
        raise UsageError("cache.enabled is false in pipeline.yaml: there is no cache to look at")
    return store
