#!/usr/bin/env bash
# Installs what the test suite needs on a fresh Debian machine, and nothing when it is
# already there. Each later capability adds its system packages here (never by hand).
set -euo pipefail

need_apt=()
# (packages are appended by the features that need them, e.g. chromium for browser tests)
if [ -x /usr/bin/chromium ] || [ "${IDSYNC_SKIP_BROWSER:-}" = 1 ]; then :; else need_apt+=(chromium); fi

if [ ${#need_apt[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${need_apt[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi
