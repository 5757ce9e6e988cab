# node:N-slim look-alike: Debian's nodejs and npm of one suite. Built by
# `python -m pipeline images bootstrap` with SUITE as a build argument.
ARG SUITE
FROM slipway/debian:${SUITE}
COPY host-ca.crt /usr/local/share/ca-certificates/slipway-host-ca.crt
RUN export DEBIAN_FRONTEND=noninteractive && apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates nodejs npm \
 && rm -rf /var/lib/apt/lists/* \
 && update-ca-certificates >/dev/null
ENV LANG=C.UTF-8 SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt \
    REQUESTS_CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt
CMD ["node"]
