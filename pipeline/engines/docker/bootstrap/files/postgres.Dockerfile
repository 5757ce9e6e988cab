# postgres:N look-alike: Debian's postgresql-N of one suite, with an entrypoint that follows
# the official image's documented behaviour (docker-entrypoint.sh). Built by
# `python -m pipeline images bootstrap` with SUITE, PG_MAJOR and PGDATA_DIR as build arguments.
ARG SUITE
FROM slipway/debian:${SUITE}
ARG PG_MAJOR
# 18+: one folder per major, as the official postgres:18 (a compose file mounts /var/lib/postgresql).
ARG PGDATA_DIR=/var/lib/postgresql/data
# Debian splits JIT (LLVM) out of 18 as postgresql-18-jit, which the official image installs;
# CI suites gain nothing from it (~190 MB). --build-arg WITH_JIT=1 adds it (18+ only).
ARG WITH_JIT=0
# the official image's postgres user (uid/gid 999) before the package would make its own
RUN groupadd -r postgres --gid=999 \
 && useradd -r -g postgres --uid=999 --home-dir=/var/lib/postgresql --shell=/bin/bash postgres \
 && install -d -o postgres -g postgres -m 1777 /var/lib/postgresql
COPY host-ca.crt /usr/local/share/ca-certificates/slipway-host-ca.crt
# No default cluster (the entrypoint makes one in $PGDATA); en_US.UTF-8 as the official image
# (the slim rootfs leaves out /usr/share/locale: locale.alias is let back in for locale-gen);
# listen_addresses='*' in the sample config, so any `command: postgres -c ...` still listens.
RUN mkdir -p /etc/postgresql-common \
 && echo 'create_main_cluster = false' > /etc/postgresql-common/createcluster.conf \
 && echo 'path-include /usr/share/locale/locale.alias' > /etc/dpkg/dpkg.cfg.d/slipway-locale-alias \
 && export DEBIAN_FRONTEND=noninteractive && apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates locales libnss-wrapper xz-utils zstd less \
      "postgresql-${PG_MAJOR}" $( [ "$WITH_JIT" = 1 ] && echo "postgresql-${PG_MAJOR}-jit" ) \
 && rm -rf /var/lib/apt/lists/* \
 && echo 'en_US.UTF-8 UTF-8' > /etc/locale.gen && locale-gen \
 && update-ca-certificates >/dev/null \
 && sed -ri "s!^#?(listen_addresses)\s*=\s*\S+.*!\1 = '*'!" "/usr/share/postgresql/${PG_MAJOR}/postgresql.conf.sample" \
 && grep -F "listen_addresses = '*'" "/usr/share/postgresql/${PG_MAJOR}/postgresql.conf.sample" \
 && install -d -o postgres -g postgres -m 3777 /var/run/postgresql /docker-entrypoint-initdb.d
ENV PG_MAJOR=${PG_MAJOR} LANG=en_US.utf8 PATH=$PATH:/usr/lib/postgresql/${PG_MAJOR}/bin PGDATA=${PGDATA_DIR} \
    SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt REQUESTS_CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt
# No VOLUME (the official declares one): in CI each container would leave an anonymous
# volume behind; a CI database lives in the container's layer.
COPY docker-entrypoint.sh /usr/local/bin/docker-entrypoint.sh
ENTRYPOINT ["docker-entrypoint.sh"]
STOPSIGNAL SIGINT
EXPOSE 5432
# The official image has none, but a service's `readiness: {healthcheck: true}` needs one
# (Slipway's own bases had it before, and CI's service tests wait on it). The set-up server
# listens on the socket only, so TCP answers once initdb.d has run and the real server is up.
HEALTHCHECK --interval=1s --timeout=3s --start-period=2s --retries=60 \
  CMD pg_isready -h 127.0.0.1 -p "${PGPORT:-5432}" -q || exit 1
CMD ["postgres"]
