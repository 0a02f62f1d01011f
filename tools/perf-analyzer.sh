#!/usr/bin/env bash
# Triton's perf_analyzer against a running xray-screen, over the KServe v2 gRPC protocol.
#
# PyPI's perf-analyzer 2.60.0 wheel is built for glibc 2.38 (manylinux_2_38), newer than
# Debian 12's 2.36, so it runs in a Debian 13 root made here with debootstrap from Debian's
# packages (kept in .perf-analyzer/, git-ignored; needs root for debootstrap and chroot). The
# root shares this machine's network: it reaches the server on loopback.
#
#   TOKEN=xst_... tools/perf-analyzer.sh --concurrency-range 1:8:1
#
# Environment: TARGET (127.0.0.1:50051), MODEL (xray-detector: encoded scans as BYTES;
# xray-detector.tensor for ready tensors), IMAGES (test-images: the PNG scans sent, in turn),
# TOKEN or XRAY_TOKEN (a bearer token with the scanner and observer roles: perf_analyzer sends
# it with each inference and reads the model's statistics with it),
# CA (the CA certificate for a TLS server, e.g. var/tls/ca.pem; unset: plaintext, a server
# run with --insecure-plaintext). Arguments go to perf_analyzer.
set -euo pipefail
cd "$(dirname "$0")/.."

TARGET=${TARGET:-127.0.0.1:50051}
MODEL=${MODEL:-xray-detector}
IMAGES=${IMAGES:-test-images}
TOKEN=${TOKEN:-${XRAY_TOKEN:-}}
CA=${CA:-}
DIR=$PWD/.perf-analyzer
ROOT=$DIR/root
SUITE=trixie
VERSION=2.60.0

if [ "$(id -u)" != 0 ]; then
  echo "perf-analyzer: debootstrap and chroot need root; run it as root or through sudo" >&2
  exit 1
fi
if [ -z "$TOKEN" ]; then
  echo "perf-analyzer: no token: set TOKEN (a scanner's, from xray-screen principals add)" >&2
  exit 1
fi

if [ ! -x "$ROOT/pa/bin/perf_analyzer" ]; then
  command -v debootstrap >/dev/null || apt-get install -y -q debootstrap
  if [ ! -x "$ROOT/usr/bin/python3" ]; then
    echo "perf-analyzer: making a Debian 13 ($SUITE) root in $ROOT (a few minutes, once)"
    mkdir -p "$DIR"
    debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates \
      "$SUITE" "$ROOT" http://deb.debian.org/debian >"$DIR/debootstrap.log"
  fi
  # The root trusts what this machine trusts (a site's registry proxy, for one) and
  # resolves names as it does.
  cp /etc/ssl/certs/ca-certificates.crt "$ROOT/etc/ssl/certs/ca-certificates.crt"
  cp /etc/resolv.conf "$ROOT/etc/resolv.conf"
  echo "perf-analyzer: installing perf-analyzer==$VERSION from PyPI into the root"
  chroot "$ROOT" /bin/sh -c "python3 -m venv /pa && /pa/bin/pip install -q perf-analyzer==$VERSION"
fi

# The scans, each as perf_analyzer sends a BYTES element: base64 of its 4-byte
# little-endian length and its bytes.
python3 - "$IMAGES" "$ROOT/tmp/scans.json" <<'PY'
import base64, json, pathlib, struct, sys
images = sorted(pathlib.Path(sys.argv[1]).glob("*.png"))
if not images:
    sys.exit(f"perf-analyzer: no PNG scans in {sys.argv[1]}")
element = lambda b: base64.b64encode(struct.pack("<I", len(b)) + b).decode()
data = [{"SCAN": {"b64": element(p.read_bytes())}} for p in images]
pathlib.Path(sys.argv[2]).write_text(json.dumps({"data": data}))
print(f"perf-analyzer: {len(images)} scans from {sys.argv[1]}", file=sys.stderr)
PY

tls=()
if [ -n "$CA" ]; then
  cp "$CA" "$ROOT/tmp/ca.pem"
  tls=(--ssl-grpc-use-ssl --ssl-grpc-root-certifications-file /tmp/ca.pem)
fi
input=(--input-data /tmp/scans.json --shape SCAN:1)
case "$MODEL" in
  *.tensor) input=() ;;  # perf_analyzer makes random FP32 tensors of the model's shape
esac
exec chroot "$ROOT" /pa/bin/perf_analyzer -m "$MODEL" -u "$TARGET" -i grpc "${tls[@]}" \
  "${input[@]}" -H "authorization:Bearer $TOKEN" "$@"
