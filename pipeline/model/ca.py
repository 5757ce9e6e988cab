"""The CA bundle in containers: where it lands and the variables that name it.

A proxy or a corporate CA re-signs TLS; pip, requests, OpenSSL, curl, Node and
git each read their own variable. Jobs and services get the same file and the
same variables, on both engines.
"""

from __future__ import annotations

CA_PATH = "/usr/local/share/slipway/ca-bundle.crt"
CA_ENV_VARS = (
    "SSL_CERT_FILE",
    "PIP_CERT",
    "REQUESTS_CA_BUNDLE",
    "CURL_CA_BUNDLE",
    "NODE_EXTRA_CA_CERTS",
    "GIT_SSL_CAINFO",
)


def ca_env() -> tuple[tuple[str, str], ...]:
    """The variables that point every tool at ``CA_PATH``."""
    return tuple((var, CA_PATH) for var in CA_ENV_VARS)
