#!/usr/bin/env bash
# Runs a command (the test suite) with a private PostgreSQL cluster started for it
# (tools/postgres.sh) and its URL in XRAY_TEST_DATABASE_URL; each test makes its own database
# in it. The cluster is stopped and removed afterwards, whether the command passed or not.
set -euo pipefail
cd "$(dirname "$0")/.."

dir=$(tools/postgres.sh start)
trap 'tools/postgres.sh stop "$dir"' EXIT
XRAY_TEST_DATABASE_URL=$(tools/postgres.sh url "$dir")
export XRAY_TEST_DATABASE_URL
echo "test-with-postgres: $XRAY_TEST_DATABASE_URL"
"$@"
