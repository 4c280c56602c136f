#!/usr/bin/env bash
# Start or stop a throwaway PostgreSQL server on a loopback port, for the tests.
#   eval "$(bash .ci/postgres.sh start)"   # exports TEST_POSTGRES_URL and PGTMP
#   bash .ci/postgres.sh stop "$PGTMP"
# Installs Debian's postgresql package if the server binaries are missing. initdb refuses to
# run as root, so the server runs as the postgres user, with trust auth on 127.0.0.1 only.
set -euo pipefail
cd /  # the postgres user may not enter the caller's folder

# A free loopback port unless one is given, so a developer's own server never collides.
port=${TEST_POSTGRES_PORT:-$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}

find_pgbin() {
  ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1
}

case "${1:-}" in
  start)
    pgbin=$(find_pgbin)
    if [ -z "$pgbin" ] || [ ! -x "$pgbin/initdb" ]; then
      echo "installing PostgreSQL from Debian's packages..." >&2
      apt-get update -qq >&2
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
      pgbin=$(find_pgbin)
    fi
    tmp=$(mktemp -d)
    if [ "$(id -u)" = 0 ]; then
      # initdb refuses root: run the server as the postgres user.
      id postgres >/dev/null 2>&1 || useradd --system --no-create-home postgres
      chown postgres:postgres "$tmp"
      as_pg=(runuser -u postgres --)
    else
      as_pg=()
    fi
    # Whatever fails from here on, leave no server or folder behind.
    trap '"${as_pg[@]}" "$pgbin/pg_ctl" -D "$tmp/data" -m immediate stop >/dev/null 2>&1; rm -rf "$tmp"' ERR
    "${as_pg[@]}" "$pgbin/initdb" -D "$tmp/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >"$tmp/initdb.log" 2>&1 \
      || { cat "$tmp/initdb.log" >&2; exit 1; }
    "${as_pg[@]}" "$pgbin/pg_ctl" -D "$tmp/data" -l "$tmp/pg.log" -w \
      -o "-c listen_addresses=127.0.0.1 -p $port -k $tmp -c max_connections=200 -c fsync=off" start >&2
    "${as_pg[@]}" "$pgbin/createdb" -h 127.0.0.1 -p "$port" -U postgres gateway_test >&2
    echo "export PGTMP=$tmp"
    echo "export TEST_POSTGRES_URL=postgresql://postgres@127.0.0.1:$port/gateway_test"
    ;;
  stop)
    tmp=${2:?usage: postgres.sh stop PGTMP}
    pgbin=$(find_pgbin)
    if [ "$(id -u)" = 0 ]; then as_pg=(runuser -u postgres --); else as_pg=(); fi
    (cd / && "${as_pg[@]}" "$pgbin/pg_ctl" -D "$tmp/data" -m fast -w stop >&2) || true
    rm -rf "$tmp"
    ;;
  *)
    echo "usage: $0 start | stop PGTMP" >&2
    exit 2
    ;;
esac
