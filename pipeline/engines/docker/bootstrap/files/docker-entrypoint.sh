#!/usr/bin/env bash
# Entrypoint of Slipway's postgres:N look-alikes. It does what CI relies on in the
# official image's entrypoint, written for these images:
#   POSTGRES_USER / POSTGRES_PASSWORD / POSTGRES_DB / POSTGRES_INITDB_ARGS /
#   POSTGRES_INITDB_WALDIR / POSTGRES_HOST_AUTH_METHOD (and their *_FILE forms),
#   initdb on first start only, /docker-entrypoint-initdb.d/*.{sh,sql,sql.gz,sql.xz,sql.zst},
#   a socket-only server during set-up, then postgres in the foreground (listen_addresses='*'
#   comes from the sample config, so any `command:` keeps it), run as root or as --user.
set -Eeo pipefail

from_file() {   # from_file VAR [DEFAULT]: VAR, or the content of the file named by VAR_FILE
  local var=$1 file_var="${1}_FILE" value=${2:-}
  if [ -n "${!var:-}" ] && [ -n "${!file_var:-}" ]; then
    echo >&2 "error: $var and $file_var are both set; set only one"; exit 1
  fi
  if [ -n "${!var:-}" ]; then value=${!var}; elif [ -n "${!file_var:-}" ]; then value=$(< "${!file_var}"); fi
  export "$var=$value"; unset "$file_var"
}

wants_info_only() {  # postgres --help / --version and the like do not need a cluster
  local a; for a; do case $a in -'?'|--help|--describe-config|-V|--version) return 0 ;; esac; done; return 1
}

run_sql() {  # psql on the set-up server's socket as the superuser
  PGHOST= PGHOSTADDR= psql -v ON_ERROR_STOP=1 --no-psqlrc --no-password --username "$POSTGRES_USER" "$@"
}

old_layout_check() {  # 18+: data belongs in /var/lib/postgresql/MAJOR/docker, as in the official image
  local old=/var/lib/postgresql/data
  if [ "${PG_MAJOR:-0}" -ge 18 ] && [ "$PGDATA" != "$old" ] && [ -d "$old" ] \
     && [ -n "$(ls -A "$old" 2>/dev/null)" ]; then
    cat >&2 <<MSG
Error: PostgreSQL $PG_MAJOR keeps its data in $PGDATA (one folder per major version, as the
       official postgres:18 image does), but $old holds files: a volume mounted
       at the old place? Mount the volume at /var/lib/postgresql instead, or set
       PGDATA=$old to keep the old layout.
MSG
    exit 1
  fi
}

prepare_dirs() {
  mkdir -p "$PGDATA"; chmod 700 "$PGDATA" || :
  mkdir -p /var/run/postgresql || :; chmod 3775 /var/run/postgresql || :
  if [ -n "${POSTGRES_INITDB_WALDIR:-}" ]; then mkdir -p "$POSTGRES_INITDB_WALDIR"; chmod 700 "$POSTGRES_INITDB_WALDIR"; fi
  if [ "$(id -u)" = 0 ]; then
    find "$PGDATA" /var/run/postgresql ${POSTGRES_INITDB_WALDIR:+"$POSTGRES_INITDB_WALDIR"} \! -user postgres -exec chown postgres:postgres {} +
  fi
}

fake_passwd_entry() {  # initdb needs the running uid in passwd: nss_wrapper provides it for --user UID
  getent passwd "$(id -u)" >/dev/null && return 0
  local lib; for lib in /usr/lib/*/libnss_wrapper.so /usr/lib/libnss_wrapper.so; do
    [ -s "$lib" ] || continue
    NSS_WRAPPER_PASSWD=$(mktemp); NSS_WRAPPER_GROUP=$(mktemp)
    echo "postgres:x:$(id -u):$(id -g):PostgreSQL:$PGDATA:/bin/false" > "$NSS_WRAPPER_PASSWD"
    echo "postgres:x:$(id -g):" > "$NSS_WRAPPER_GROUP"
    export LD_PRELOAD=$lib NSS_WRAPPER_PASSWD NSS_WRAPPER_GROUP
    return 0
  done
}

init_cluster() {  # "$@": the server's arguments (for -c settings the set-up server should get too)
  if [ -z "$POSTGRES_PASSWORD" ] && [ "$POSTGRES_HOST_AUTH_METHOD" != trust ]; then
    cat >&2 <<'MSG'
Error: Database is uninitialized and superuser password is not specified.
       Set POSTGRES_PASSWORD to a non-empty value (e.g. -e POSTGRES_PASSWORD=secret), or set
       POSTGRES_HOST_AUTH_METHOD=trust to allow every connection without a password.
MSG
    exit 1
  fi
  ls /docker-entrypoint-initdb.d/ >/dev/null
  fake_passwd_entry
  local walargs=(); [ -n "${POSTGRES_INITDB_WALDIR:-}" ] && walargs=(--waldir "$POSTGRES_INITDB_WALDIR")
  # POSTGRES_INITDB_ARGS is a shell-quoted string, as in the official image: eval keeps its quoting.
  # initdb's own defaults stay: trust for local socket and 127.0.0.1 connections, UTF-8 from LANG.
  eval 'initdb --username="$POSTGRES_USER" --pwfile=<(printf "%s\n" "$POSTGRES_PASSWORD") '"$POSTGRES_INITDB_ARGS"' "${walargs[@]}"'
  if [[ "${LD_PRELOAD:-}" == */libnss_wrapper.so ]]; then
    rm -f "$NSS_WRAPPER_PASSWD" "$NSS_WRAPPER_GROUP"; unset LD_PRELOAD NSS_WRAPPER_PASSWD NSS_WRAPPER_GROUP
  fi
  # every other host: the method given, else the server's password_encryption (scram-sha-256)
  local method=${POSTGRES_HOST_AUTH_METHOD:-$(postgres -C password_encryption "$@")}
  printf '\nhost all all all %s\n' "$method" >> "$PGDATA/pg_hba.conf"

  export PGPASSWORD=${PGPASSWORD:-$POSTGRES_PASSWORD}
  local quoted=""; [ "$#" -gt 0 ] && quoted=$(printf '%q ' "$@")
  NOTIFY_SOCKET= PGUSER=${PGUSER:-$POSTGRES_USER} \
    pg_ctl -D "$PGDATA" -o "$quoted -c listen_addresses='' -p ${PGPORT:-5432}" -w start
  if [ -z "$(run_sql --dbname postgres --set db="$POSTGRES_DB" --tuples-only <<<"SELECT 1 FROM pg_database WHERE datname = :'db'")" ]; then
    run_sql --dbname postgres --set db="$POSTGRES_DB" <<<'CREATE DATABASE :"db"'
  fi
  local f
  for f in /docker-entrypoint-initdb.d/*; do
    case $f in
      *.sh) if [ -x "$f" ]; then echo "$0: running $f"; "$f"; else echo "$0: sourcing $f"; . "$f"; fi ;;
      *.sql) echo "$0: running $f"; run_sql --dbname "$POSTGRES_DB" -f "$f" ;;
      *.sql.gz) echo "$0: running $f"; gunzip -c "$f" | run_sql --dbname "$POSTGRES_DB" ;;
      *.sql.xz) echo "$0: running $f"; xzcat "$f" | run_sql --dbname "$POSTGRES_DB" ;;
      *.sql.zst) echo "$0: running $f"; zstd -dc "$f" | run_sql --dbname "$POSTGRES_DB" ;;
      *) [ -e "$f" ] && echo "$0: ignoring $f" ;;
    esac
  done
  PGUSER=${PGUSER:-$POSTGRES_USER} pg_ctl -D "$PGDATA" -m fast -w stop
  unset PGPASSWORD
  echo; echo 'PostgreSQL init process complete; ready for start up.'; echo
}

main() {
  if [ "${1:0:1}" = - ]; then set -- postgres "$@"; fi
  if [ "$1" = postgres ] && ! wants_info_only "$@"; then
    export PGDATA=${PGDATA:-/var/lib/postgresql/data}
    from_file POSTGRES_PASSWORD
    from_file POSTGRES_USER postgres
    from_file POSTGRES_DB "$POSTGRES_USER"
    from_file POSTGRES_INITDB_ARGS
    : "${POSTGRES_HOST_AUTH_METHOD:=}"
    old_layout_check
    prepare_dirs
    if [ "$(id -u)" = 0 ]; then
      # the same script again as postgres (setpriv: util-linux, in every Debian; no gosu to fetch)
      exec env HOME=/var/lib/postgresql setpriv --reuid=postgres --regid=postgres --init-groups "$BASH_SOURCE" "$@"
    fi
    if [ ! -s "$PGDATA/PG_VERSION" ]; then
      init_cluster "${@:2}"
    else
      echo 'PostgreSQL data directory already holds a cluster: initialization skipped.'
    fi
  fi
  exec "$@"
}

main "$@"
