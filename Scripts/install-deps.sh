#!/usr/bin/env bash
# Installs the system libraries GeoCAM uses (GDAL, OpenBLAS, libpng, and oneDNN, which it opens
# at run time for faster convolutions and can do without) when they are missing; with --tests
# also what the tests use (Chromium, for the audit gallery opened headless).
# Debian/Ubuntu only; runs apt-get as root or through sudo. Safe to run again.
set -euo pipefail
packages=(libgdal-dev libopenblas-dev libpng-dev libdnnl-dev)
if [ "${1:-}" = "--tests" ]; then packages+=(chromium); fi
need=()
for pkg in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need+=("$pkg")
done
if ((${#need[@]})); then
  echo "installing: ${need[*]}" >&2
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
if ! command -v swift >/dev/null; then
  echo "error: swift is not on PATH (GeoCAM needs Swift 6.2 or newer)" >&2
  exit 1
fi
