#!/usr/bin/env bash
# JupyterHub's proxy, configurable-http-proxy, is an npm package. Install the pinned version into
# the course's environment (<env>/hub-proxy) and link it as <env>/bin/configurable-http-proxy, where
# classroom/jupyterhub_config.py looks for it. Needs Node.js and npm (Debian: nodejs, npm; the
# system-package script installs them as root). Without them only the classroom (make classroom,
# tests/test_classroom_hub.py) is missing, so this says so and does not stop the set-up.
set -uo pipefail
ENV_DIR="${1:?usage: install_hub_proxy.sh <environment folder>}"
VERSION=4.6.3  # runs on Node.js >= 10 (Debian 12 ships 18); 5.x needs Node.js 20
PREFIX="$(cd "$ENV_DIR" && pwd)/hub-proxy"
LINK="$ENV_DIR/bin/configurable-http-proxy"

if [ -x "$PREFIX/node_modules/.bin/configurable-http-proxy" ] \
   && grep -q "\"version\": \"$VERSION\"" "$PREFIX/node_modules/configurable-http-proxy/package.json" 2>/dev/null; then
  ln -sf "$PREFIX/node_modules/.bin/configurable-http-proxy" "$LINK"
  exit 0
fi
if ! command -v npm >/dev/null 2>&1; then
  echo "NOTE: npm not found, so JupyterHub's proxy is not installed: 'make classroom' and the hub test cannot run." >&2
  echo "      As root on Debian/Ubuntu: apt-get install nodejs npm, then make env again." >&2
  exit 0
fi
echo "==> Installing JupyterHub's proxy (configurable-http-proxy $VERSION, npm) into $PREFIX"
mkdir -p "$PREFIX"
if npm install --silent --no-audit --no-fund --prefix "$PREFIX" "configurable-http-proxy@$VERSION" >/dev/null; then
  ln -sf "$PREFIX/node_modules/.bin/configurable-http-proxy" "$LINK"
else
  echo "WARNING: npm could not install configurable-http-proxy@$VERSION: 'make classroom' and the hub test cannot run." >&2
fi
exit 0
