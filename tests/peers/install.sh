#!/usr/bin/env bash
# Installs the peer servers outside the git tree, into $POSTWRIGHT_PEERS_DIR (default
# <repo>/.cache/peers):
#   npm       the Node peers' packages (package-lock.json, exactly) into node_modules/
#   mastodon  mastodon-mock (mastodon-mock.txt, exactly) into a virtual environment of its own,
#             mastodon-mock/, so FastAPI and friends never enter the project's environment
#   axe       axe-core (axe/package-lock.json, exactly) into axe/node_modules/, for the browser
#             suite's accessibility checks; its own folder, so adding or bumping it never
#             reinstalls (and recompiles) the Node peers above
# With no argument, both. Each does nothing when its marker for the same lock file (and Node or
# Python version) is already there. Exits non-zero on any failure.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
target="${POSTWRIGHT_PEERS_DIR:-$repo/.cache/peers}"

say() { echo "[peers] $*"; }
die() { echo "[peers] ERROR: $*" >&2; exit 1; }

install_npm() {
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
    return 0
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
}

install_mastodon() {
  python="${POSTWRIGHT_PEERS_PYTHON:-python3}"
  command -v "$python" >/dev/null 2>&1 || die "$python is not on PATH (mastodon-mock needs Python 3.10+)"
  mkdir -p "$target"
  # The physical path: scripts in a virtual environment name its interpreter by absolute path, and
  # a path through a symlink (a worktree's .cache) would break when that symlink goes away.
  venv="$(cd "$target" && pwd -P)/mastodon-mock"
  # Wheels are built per interpreter and scripts point into the environment's own path: another
  # Python or another place needs a fresh environment.
  key="$( (cat "$here/mastodon-mock.txt"; echo "$venv"; "$python" -c 'import sys; print(sys.version, sys.executable)') \
    | sha256sum | cut -c1-16)"
  marker="$venv/.installed-$key"

  exec 8>"$target/.install-mastodon.lock"
  command -v flock >/dev/null 2>&1 && flock 8

  if [ -f "$marker" ] && "$venv/bin/python" -c '' 2>/dev/null; then
    say "mastodon-mock up to date in $venv"
    return 0
  fi

  "$python" -c 'import sys; sys.exit(sys.version_info < (3, 10))' \
    || die "$("$python" --version 2>&1) is too old; mastodon-mock needs Python 3.10+"
  "$python" -c 'import ensurepip, venv' 2>/dev/null \
    || die "$python cannot make virtual environments (on Debian: apt-get install python3-venv)"

  say "installing mastodon-mock 0.6.1 (FastAPI, SQLAlchemy, uvicorn) into its own environment $venv"
  say "first install takes about 30 s and 100 MB..."
  start=$SECONDS
  # A virtual environment cannot be moved, so it is built in place; the marker, written last, is
  # what says it is complete.
  rm -rf "$venv"
  "$python" -m venv "$venv" || die "$python -m venv $venv failed"
  log="$target/.install-mastodon.log"
  # pip is noisy even with --quiet (index warnings): its output goes to a log, shown on failure.
  if ! "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-input \
      -r "$here/mastodon-mock.txt" >"$log" 2>&1; then
    tail -n 30 "$log" >&2
    die "pip could not install mastodon-mock into $venv (the whole log: $log)"
  fi
  "$venv/bin/mastodon_mock" --version >/dev/null 2>&1 || die "mastodon-mock installed but does not run ($venv)"
  rm -f "$log"
  touch "$marker"
  say "mastodon-mock installed in $((SECONDS - start)) s ($(du -sh "$venv" | cut -f1))"
}

install_axe() {
  command -v npm >/dev/null 2>&1 || die "npm is not on PATH (apt-get install npm)"
  dir="$target/axe"
  key="$( (cat "$here/axe/package-lock.json" "$here/axe/package.json") | sha256sum | cut -c1-16)"
  marker="$dir/.installed-$key"
  mkdir -p "$dir"
  exec 7>"$target/.install-axe.lock"
  command -v flock >/dev/null 2>&1 && flock 7

  if [ -f "$marker" ] && [ -f "$dir/node_modules/axe-core/axe.min.js" ]; then
    say "axe-core up to date in $dir"
    return 0
  fi
  say "installing axe-core into $dir (about 3 MB, a few seconds)..."
  rm -f "$dir"/.installed-*
  cp "$here/axe/package.json" "$here/axe/package-lock.json" "$dir/"
  (cd "$dir" && npm ci --no-audit --no-fund --no-update-notifier --loglevel=error) || die "npm ci failed in $dir"
  [ -f "$dir/node_modules/axe-core/axe.min.js" ] || die "axe-core installed without axe.min.js ($dir)"
  touch "$marker"
  say "axe-core installed in $dir"
}

# Each part in a subshell: its install lock is released as soon as it is done.
components=("$@")
[ ${#components[@]} -gt 0 ] || components=(npm mastodon axe)
for component in "${components[@]}"; do
  case "$component" in
    npm) (install_npm) ;;
    mastodon) (install_mastodon) ;;
    axe) (install_axe) ;;
    *) die "unknown part '$component' (expected: npm, mastodon, axe)" ;;
  esac
done
