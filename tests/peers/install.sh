#!/usr/bin/env bash
# Installs the peer servers' npm packages (package-lock.json, exactly) outside the git tree:
# into $POSTWRIGHT_PEERS_DIR, default <repo>/.cache/peers. Does nothing when the marker for this
# lock file, package.json and Node version is already there. Exits non-zero on any failure.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
target="${POSTWRIGHT_PEERS_DIR:-$repo/.cache/peers}"

say() { echo "[peers] $*"; }
die() { echo "[peers] ERROR: $*" >&2; exit 1; }

command -v node >/dev/null 2>&1 || die "node is not on PATH (Node 20+ is needed: apt-get install nodejs npm)"
command -v npm >/dev/null 2>&1 || die "npm is not on PATH (apt-get install npm)"
node_major="$(node -p 'process.versions.node.split(".")[0]')"
[ "$node_major" -ge 20 ] || die "Node $(node --version) is too old; the pinned packages need Node 20+"

# better-sqlite3 is native: a Node upgrade needs a rebuild, so the Node version is part of the key.
key="$( (cat "$here/package-lock.json" "$here/package.json"; node --version) | sha256sum | cut -c1-16)"
marker="$target/.installed-$key"

mkdir -p "$target"
# Two test processes may start at once (pytest-xdist): one installs, the other waits for it.
exec 9>"$target/.install.lock"
command -v flock >/dev/null 2>&1 && flock 9

if [ -f "$marker" ] && [ -d "$target/node_modules" ]; then
  say "up to date in $target"
  exit 0
fi

say "installing @atproto/pds, @did-plc/server, oidc-provider into $target"
say "first install takes about 75 s and 255 MB (better-sqlite3 compiles with gcc)..."
rm -f "$target"/.installed-*
cp "$here/package.json" "$here/package-lock.json" "$target/"

# No internet here: better-sqlite3's prebuilt download fails and node-gyp compiles it, which must
# use the headers Node ships (the Debian/NodeSource package puts them in <prefix>/include/node)
# instead of downloading them.
prefix="$(dirname "$(dirname "$(readlink -f "$(command -v node)")")")"
if [ -z "${npm_config_nodedir:-}" ] && [ -f "$prefix/include/node/node_version.h" ]; then
  export npm_config_nodedir="$prefix"
fi

start=$SECONDS
(cd "$target" && npm ci --no-audit --no-fund --no-update-notifier --loglevel=error) \
  || die "npm ci failed in $target (better-sqlite3 compiles here: it needs gcc, make, python3 and Node's headers)"

# A skipped or failed native build only shows up at run time; catch it here instead.
(cd "$target" && node -e "new (require('better-sqlite3'))(':memory:').close()") \
  || die "better-sqlite3 did not build (are gcc, make, python3 and Node's headers installed?)"

touch "$marker"
say "installed in $((SECONDS - start)) s ($(du -sh "$target/node_modules" | cut -f1))"
