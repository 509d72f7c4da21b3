#!/usr/bin/env bash
# Installs the peer servers' npm packages outside the git tree (POSTWRIGHT_PEERS_DIR, default
# <repo>/.cache/peers), reproducibly from package-lock.json; skipped when already up to date.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
target="${POSTWRIGHT_PEERS_DIR:-$here/../../.cache/peers}"
mkdir -p "$target"
stamp="$target/.installed-$(sha256sum "$here/package-lock.json" | cut -c1-16)"
if [ -f "$stamp" ] && [ -d "$target/node_modules" ]; then
  exit 0
fi
command -v npm >/dev/null || { echo "npm is needed for the peer servers (apt-get install nodejs npm)" >&2; exit 1; }
echo "Installing peer servers (Bluesky PDS, OAuth server) into $target; about a minute..."
cp "$here/package.json" "$here/package-lock.json" "$target/"
(cd "$target" && npm ci --no-audit --no-fund --loglevel=error)
rm -f "$target"/.installed-* && touch "$stamp"
