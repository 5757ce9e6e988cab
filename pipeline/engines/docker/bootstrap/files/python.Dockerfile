# python:X.Y-slim look-alike: Debian's interpreter of one suite, pip from PyPI owning /usr/local.
# Built by `python -m pipeline images bootstrap` (engines/docker/bootstrap), with
# SUITE (bookworm, trixie, forky), PY (3.11 ...) and PIP_EXTRA as build arguments.
ARG SUITE
FROM slipway/debian:${SUITE}
ARG PY
# python:3.11-slim ships setuptools and wheel; 3.12+ images do not.
ARG PIP_EXTRA=""
ENV PATH=/usr/local/bin:$PATH LANG=C.UTF-8
# The host's CA bundle (a TLS-intercepting proxy's CA): trusted by the image's store, and
# named for the tools that bring their own (pip, requests, uv, node).
COPY host-ca.crt /usr/local/share/ca-certificates/slipway-host-ca.crt
# dpkg never (re)installs EXTERNALLY-MANAGED, even when a user's Dockerfile upgrades or
# reinstalls libpythonX.Y-stdlib (an `rm` would come back with the next security update);
# no static libpython (python:*-slim has none; 20+ MB): the headers and the .so stay,
# so C extensions build as on the official image.
RUN printf '%s\n' 'path-exclude /usr/lib/python3*/EXTERNALLY-MANAGED' \
      'path-exclude /usr/lib/python3*/config-*/libpython*.a' 'path-exclude /usr/lib/*-linux-gnu/libpython3*.a' \
      > /etc/dpkg/dpkg.cfg.d/slipway-python \
 && export DEBIAN_FRONTEND=noninteractive && apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates "python${PY}" "python${PY}-venv" "libpython${PY}-dev" \
 && rm -rf /var/lib/apt/lists/* \
 && update-ca-certificates >/dev/null
ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt REQUESTS_CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt \
    PIP_CERT=/etc/ssl/certs/ca-certificates.crt NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt
# pip into the system interpreter, as on the official image: no EXTERNALLY-MANAGED (above) and
# no Debian-owned Python package (python3-pip is not installed), so everything under
# /usr/local/lib/pythonX.Y is pip's and pip can upgrade or uninstall all of it ("Cannot
# uninstall packaging ... installed by debian" is what Debian's python3-pip gives).
# Bootstrap: run the pip wheel that pythonX.Y-venv brings (a wheel is importable as a zip;
# Debian disables ensurepip for the system interpreter) to install pip from PyPI.
# site-packages -> dist-packages: multi-stage Dockerfiles copy .../site-packages.
RUN test ! -e "/usr/lib/python${PY}/EXTERNALLY-MANAGED" \
 && ln -s "/usr/bin/python${PY}" /usr/local/bin/python3 \
 && ln -s "/usr/bin/python${PY}" /usr/local/bin/python \
 && whl=$(ls /usr/share/python-wheels/pip-*.whl) \
 && "python${PY}" "$whl/pip" install --no-cache-dir --disable-pip-version-check --root-user-action=ignore \
      --ignore-installed pip ${PIP_EXTRA} \
 && ln -s dist-packages "/usr/local/lib/python${PY}/site-packages" \
 && find /usr/local -name __pycache__ -prune -exec rm -rf {} + \
 && pip --version && python -c "import sys; assert sys.version.startswith('${PY}.'), sys.version"
ENV PIP_ROOT_USER_ACTION=ignore
CMD ["python3"]
