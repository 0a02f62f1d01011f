#!/usr/bin/env bash
# Installs what the browser test of the review screen needs: Debian's chromium and
# chromium-driver (/usr/bin/chromium, /usr/bin/chromedriver). Skips when both are there.
set -euo pipefail

if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then
  echo "setup-browser: $(chromedriver --version | head -n 1)"
  exit 0
fi
packages=(chromium chromium-driver)
if [ "$(id -u)" = 0 ]; then
  sudo=()
elif command -v sudo >/dev/null; then
  sudo=(sudo)
else
  echo "setup-browser: installing ${packages[*]} needs root; run: apt-get install ${packages[*]}" >&2
  exit 1
fi
echo "setup-browser: installing ${packages[*]} (Debian)"
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
echo "setup-browser: $(chromedriver --version | head -n 1)"
