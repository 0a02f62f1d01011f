#!/usr/bin/env bash
# A private PostgreSQL cluster for the tests, never the system's own:
#   tools/postgres.sh start         initdb into a new folder under /tmp and start the server on
#                                   a free port of 127.0.0.1; prints the folder (DIR)
#   tools/postgres.sh url [DIR]     prints the cluster's URL
#   tools/postgres.sh stop [DIR]    stops the server and removes DIR
#   tools/postgres.sh pause|resume [DIR]   stops / starts the server, keeping its data (tests of
#                                   a database that goes away)
# Without DIR the commands use the cluster that the last `start` made (its folder is kept in
# target/postgres-cluster). The server runs as an unprivileged user, since PostgreSQL refuses
# to run as root and CI runs as root: `nobody` when this runs as root, the caller otherwise.
# fsync stays on (the tests check what a commit keeps).
set -euo pipefail
cd "$(dirname "$0")/.."

command=${1:-}
last=target/postgres-cluster

bindir() {
  local initdb
  initdb=$(ls -d /usr/lib/postgresql/*/bin/initdb 2>/dev/null | sort -V | tail -n 1 || true)
  if [ -z "$initdb" ]; then
    initdb=$(command -v initdb || true)
  fi
  [ -n "$initdb" ] || {
    echo "postgres.sh: no initdb; install Debian's postgresql (tools/setup.sh does)" >&2
    exit 1
  }
  dirname "$initdb"
}

# Runs a command as the cluster's owner.
as_owner() {
  if [ "$(id -u)" = 0 ]; then
    # setpriv (util-linux) rather than su/runuser: no login shell, no PAM session.
    setpriv --reuid=nobody --regid=nogroup --clear-groups -- "$@"
  else
    "$@"
  fi
}

dir_of() {
  if [ -n "${1:-}" ]; then
    echo "$1"
  elif [ -f "$last" ]; then
    cat "$last"
  else
    echo "postgres.sh: no cluster started (no $last)" >&2
    exit 1
  fi
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

url_of() {
  echo "postgres://postgres@127.0.0.1:$(cat "$1/port")/postgres"
}

start_server() {
  local dir=$1 bin
  bin=$(bindir)
  as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
    -o "-p $(cat "$dir/port")" start >/dev/null
}

case "$command" in
  start)
    bin=$(bindir)
    # Under /tmp (not $TMPDIR): every folder above the cluster must be reachable by its owner.
    dir=$(mktemp -d /tmp/xray-postgres.XXXXXX)
    mkdir -p "$(dirname "$last")"
    echo "$dir" >"$last"
    chmod 0755 "$dir"
    if [ "$(id -u)" = 0 ]; then chown nobody:nogroup "$dir"; fi
    if [ ! -f "$dir/data/PG_VERSION" ]; then
      # Trust on 127.0.0.1 only: the cluster is private to this machine's tests.
      as_owner "$bin/initdb" -D "$dir/data" -U postgres --auth=trust --encoding=UTF8 \
        --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 || {
        cat "$dir/initdb.log" >&2
        exit 1
      }
      cat >>"$dir/data/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
unix_socket_directories = ''
fsync = on
max_connections = 300
EOF
    fi
    free_port | as_owner tee "$dir/port" >/dev/null
    start_server "$dir" || {
      cat "$dir/server.log" >&2
      exit 1
    }
    echo "$dir"
    ;;
  url)
    url_of "$(dir_of "${2:-}")"
    ;;
  pause)
    dir=$(dir_of "${2:-}")
    as_owner "$(bindir)/pg_ctl" -D "$dir/data" -w -m fast stop >/dev/null
    ;;
  resume)
    start_server "$(dir_of "${2:-}")"
    ;;
  stop)
    dir=$(dir_of "${2:-}")
    if [ -f "$dir/data/postmaster.pid" ]; then
      as_owner "$(bindir)/pg_ctl" -D "$dir/data" -w -m fast stop >/dev/null || true
    fi
    rm -rf "$dir"
    if [ -f "$last" ] && [ "$(cat "$last")" = "$dir" ]; then rm -f "$last"; fi
    ;;
  *)
    echo "usage: tools/postgres.sh start|url|stop|pause|resume [DIR]" >&2
    exit 2
    ;;
esac
