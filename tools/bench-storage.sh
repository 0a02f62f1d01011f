#!/usr/bin/env bash
# The storage benchmark of BENCHMARKS.md, in one sitting: `xray-screen load` screening only,
# then with --declarations (every scan stored with its declaration's risk), against
#   1. one node on SQLite built from an earlier commit (BIN_BEFORE, optional: images in the
#      database, one commit per scan),
#   2. one node on SQLite (group commit, images in the image store),
#   3. one node on PostgreSQL (a private cluster from tools/postgres.sh),
#   4. two nodes on that PostgreSQL database, the load generator spreading its clients over both;
# and the space each setup takes per thousand stored scans. Reports go to $OUT.
#   tools/bench-storage.sh
#   BIN_BEFORE=../old/target/release/xray-screen IMAGES=data/synth2-val/images tools/bench-storage.sh
set -euo pipefail
cd "$(dirname "$0")/.."

MODELS=${MODELS:-models/xray-detector}
IMAGES=${IMAGES:-data/synth-val/images}
DURATION=${DURATION:-40}
CONCURRENCY=${CONCURRENCY:-32}
DECLARATIONS=${DECLARATIONS:-64}
OUT=${OUT:-target/bench-storage}
BIN=${BIN:-./target/release/xray-screen}
BIN_BEFORE=${BIN_BEFORE:-}
mkdir -p "$OUT"
WORK=$(mktemp -d)
PG=""
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  [ -n "$PG" ] && tools/postgres.sh stop "$PG" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

# Starts a node: start NAME BIN GRPC HTTP [serve flags...]; waits until it listens.
start() {
  local name=$1 bin=$2 grpc=$3 http=$4
  shift 4
  "$bin" serve --data-dir "$WORK/$name" --models-dir "$MODELS" --grpc-addr "$grpc" \
    --http-addr "$http" --insecure-plaintext "$@" >"$OUT/$name.out" 2>"$OUT/$name.log" &
  pids+=($!)
  for _ in $(seq 600); do
    grep -q "listening on grpc://" "$OUT/$name.out" 2>/dev/null && return
    kill -0 "${pids[-1]}" 2>/dev/null || { cat "$OUT/$name.log"; exit 1; }
    sleep 0.2
  done
  echo "$name did not start" >&2
  exit 1
}

stop_all() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  pids=()
}

# A token for the load generator in the store that the flags name.
token() {
  "$1" principals "${@:2}" add --name "bench-$RANDOM$RANDOM" --role scanner --role risk-system \
    --role observer --portal load | tail -n1
}

# load NAME SERVER_BIN TOKEN TARGETS METRICS [load flags...]; the load generator is always
# this build's, whichever server runs.
load() {
  local name=$1 token=$3 targets=$4 metrics=$5
  shift 5
  echo "== $name"
  "$BIN" load --target "$targets" --metrics-url "$metrics" --token "$token" --images "$IMAGES" \
    --concurrency "$CONCURRENCY" --duration "$DURATION" --quiet --json "$OUT/$name.json" "$@" \
    | tee "$OUT/$name.txt"
}

size_of() { du -sb "$1" 2>/dev/null | cut -f1; }

stored_scans() { # the flagged and unflagged scans the database holds: sqlite FILE | pg URL
  case $1 in
    sqlite) python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('select count(*) from scans').fetchone()[0])" "$2" ;;
    pg) "$(dirname "$(ls -d /usr/lib/postgresql/*/bin/psql | sort -V | tail -n1)")/psql" "$2" -Atc "select count(*) from scans" ;;
  esac
}

echo "setup,scans,database_bytes,image_store_bytes" >"$OUT/space.csv"

if [ -n "$BIN_BEFORE" ]; then
  start before "$BIN_BEFORE" 127.0.0.1:50101 127.0.0.1:18101
  t=$(token "$BIN_BEFORE" --data-dir "$WORK/before")
  load sqlite-before-screened "$BIN_BEFORE" "$t" http://127.0.0.1:50101 http://127.0.0.1:18101/metrics
  load sqlite-before-stored "$BIN_BEFORE" "$t" http://127.0.0.1:50101 http://127.0.0.1:18101/metrics \
    --declarations "$DECLARATIONS"
  stop_all
  db="$WORK/before/xray-screen.db"
  echo "sqlite-before,$(stored_scans sqlite "$db"),$(($(size_of "$db") + $(size_of "$db-wal" || echo 0))),0" >>"$OUT/space.csv"
fi

start after "$BIN" 127.0.0.1:50102 127.0.0.1:18102
t=$(token "$BIN" --data-dir "$WORK/after")
load sqlite-screened "$BIN" "$t" http://127.0.0.1:50102 http://127.0.0.1:18102/metrics
load sqlite-stored "$BIN" "$t" http://127.0.0.1:50102 http://127.0.0.1:18102/metrics \
  --declarations "$DECLARATIONS"
stop_all
db="$WORK/after/xray-screen.db"
echo "sqlite,$(stored_scans sqlite "$db"),$(($(size_of "$db") + $(size_of "$db-wal" || echo 0))),$(size_of "$WORK/after/images")" >>"$OUT/space.csv"

PG=$(tools/postgres.sh start)
base=$(tools/postgres.sh url "$PG")
psql=$(dirname "$(ls -d /usr/lib/postgresql/*/bin/psql | sort -V | tail -n1)")/psql
for db in one two; do "$psql" "$base" -qc "CREATE DATABASE bench_$db"; done
url_of() { python3 -c "import sys,urllib.parse as u; p=u.urlsplit(sys.argv[1]); print(u.urlunsplit(p._replace(path='/'+sys.argv[2])))" "$base" "$1"; }

one=$(url_of bench_one)
start pg-one "$BIN" 127.0.0.1:50103 127.0.0.1:18103 --database-url "$one" --image-store "$WORK/pg-one-images"
t=$(token "$BIN" --database-url "$one")
load pg-one-stored "$BIN" "$t" http://127.0.0.1:50103 http://127.0.0.1:18103/metrics \
  --declarations "$DECLARATIONS"
stop_all
echo "postgres,$(stored_scans pg "$one"),$("$psql" "$one" -Atc "select pg_database_size(current_database())"),$(size_of "$WORK/pg-one-images")" >>"$OUT/space.csv"

two=$(url_of bench_two)
start pg-a "$BIN" 127.0.0.1:50104 127.0.0.1:18104 --database-url "$two" --image-store "$WORK/pg-two-images"
start pg-b "$BIN" 127.0.0.1:50105 127.0.0.1:18105 --database-url "$two" --image-store "$WORK/pg-two-images"
t=$(token "$BIN" --database-url "$two")
load pg-two-stored "$BIN" "$t" http://127.0.0.1:50104,http://127.0.0.1:50105 \
  http://127.0.0.1:18104/metrics,http://127.0.0.1:18105/metrics --declarations "$DECLARATIONS"
stop_all

echo "== space"
column -s, -t <"$OUT/space.csv"
