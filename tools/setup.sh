#!/usr/bin/env bash
# Sets up a fresh machine for xray-screen; safe to run again (it skips what is done).
#   - ONNX Runtime 1.31.1 from its PyPI wheel into .ort/python (GPU=1: onnxruntime-gpu with
#     the CUDA 12 and cuDNN 9 runtime wheels), where the binary finds it by itself;
#   - a Python venv in .venv for the tools (fixture generator, example client);
#   - Debian's postgresql when initdb is missing (the tests start a private cluster of their
#     own with tools/postgres.sh; the Debian-managed cluster is not used).
set -euo pipefail
cd "$(dirname "$0")/.."

ORT_VERSION=1.31.1
PYTHON=${PYTHON:-python3}
export PIP_ROOT_USER_ACTION=ignore
pip_quiet=(--quiet --disable-pip-version-check --no-input)

if [ "${GPU:-0}" = "1" ]; then
  ort_spec="onnxruntime-gpu[cuda,cudnn]==$ORT_VERSION"
  ort_deps=()
else
  ort_spec="onnxruntime==$ORT_VERSION"
  ort_deps=(--no-deps)
fi
marker=".ort/installed-${ort_spec//[^A-Za-z0-9.=_-]/_}"
if [ ! -f "$marker" ]; then
  echo "setup: installing $ort_spec into .ort/python"
  rm -rf .ort
  mkdir -p .ort
  "$PYTHON" -m pip install "${pip_quiet[@]}" "${ort_deps[@]}" --target .ort/python "$ort_spec"
  touch "$marker"
fi
lib=$(ls .ort/python/onnxruntime/capi/libonnxruntime.so.* 2>/dev/null | head -n 1)
[ -n "$lib" ] || { echo "setup: no libonnxruntime.so.* in .ort/python/onnxruntime/capi" >&2; exit 1; }
echo "setup: ONNX Runtime library: $lib"

req_marker=.venv/installed-$(sha256sum tools/requirements.txt | cut -c1-16)
if [ ! -f "$req_marker" ]; then
  echo "setup: creating .venv with tools/requirements.txt"
  "$PYTHON" -m venv .venv
  .venv/bin/pip install "${pip_quiet[@]}" -r tools/requirements.txt
  rm -f .venv/installed-*
  touch "$req_marker"
fi
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && ! command -v initdb >/dev/null; then
  if [ "$(id -u)" = 0 ]; then
    sudo=()
  elif command -v sudo >/dev/null; then
    sudo=(sudo)
  else
    echo "setup: PostgreSQL is needed by the tests and installing it needs root; run: apt-get install postgresql" >&2
    exit 1
  fi
  echo "setup: installing postgresql (Debian)"
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get update -qq
  "${sudo[@]}" apt-get install -y -qq --no-install-recommends postgresql >/dev/null
fi
echo "setup: done"
