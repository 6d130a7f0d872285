#!/usr/bin/env bash
# Installs what the test suite needs on a fresh Debian machine, and nothing when it is already
# there: Chromium (with a font) for the browser tests of the admin UI. PostgreSQL is expected on
# 127.0.0.1 (IDSYNC_TEST_PG_URL); the tests say so plainly when it is not reachable.
set -euo pipefail

need_apt=()
if [ "${IDSYNC_SKIP_BROWSER:-}" != 1 ]; then
  [ -x /usr/bin/chromium ] || need_apt+=(chromium)
  [ -d /usr/share/fonts/truetype/liberation ] || need_apt+=(fonts-liberation)
fi

if [ ${#need_apt[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${need_apt[*]}"
  if [ "$(id -u)" != 0 ]; then SUDO=sudo; else SUDO=; fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

# The store tests run against PostgreSQL on 127.0.0.1: start the local cluster if it is down.
if command -v pg_isready >/dev/null && ! pg_isready -q -h 127.0.0.1 -p 5432; then
  if command -v pg_ctlcluster >/dev/null && [ -d /etc/postgresql ]; then
    echo "setup: starting the local PostgreSQL cluster"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
  fi
fi

# The browser tests serve the built admin UI.
node "$(dirname "$0")/ensure-web.mjs"
