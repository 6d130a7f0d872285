#!/usr/bin/env bash
# Installs what the test suite needs on a fresh Debian machine, and nothing when it is already
# there: Chromium (with a font) for the browser tests of the admin UI, and OpenLDAP's slapd and
# ldap-utils for the LDAP source's tests (each test starts its own slapd in a temporary folder). PostgreSQL is expected on
# 127.0.0.1 (IDSYNC_TEST_PG_URL); the tests say so plainly when it is not reachable.
set -euo pipefail

need_apt=()
if [ "${IDSYNC_SKIP_BROWSER:-}" != 1 ]; then
  [ -x /usr/bin/chromium ] || need_apt+=(chromium)
  [ -d /usr/share/fonts/truetype/liberation ] || need_apt+=(fonts-liberation)
fi
# The LDAP tests start their own slapd (emulators/ldap/slapd.ts); the package's own server is not
# wanted: no_configuration keeps the package from creating a database, and no system service is
# left running (a test slapd listens on free loopback ports, so one on 389 would not clash anyway).
need_slapd=0
if [ "${IDSYNC_SKIP_LDAP:-}" != 1 ]; then
  [ -x /usr/sbin/slapd ] || { need_apt+=(slapd); need_slapd=1; }
  command -v ldapsearch >/dev/null || need_apt+=(ldap-utils)
fi

if [ ${#need_apt[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${need_apt[*]}"
  if [ "$(id -u)" != 0 ]; then SUDO=sudo; else SUDO=; fi
  export DEBIAN_FRONTEND=noninteractive
  if [ "$need_slapd" = 1 ]; then echo "slapd slapd/no_configuration boolean true" | $SUDO debconf-set-selections; fi
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
  if [ "$need_slapd" = 1 ]; then
    # Where a service manager did start it, stop it and keep it from starting at boot.
    if command -v systemctl >/dev/null && systemctl is-active --quiet slapd 2>/dev/null; then $SUDO systemctl disable --now slapd || true; fi
    if [ -x /etc/init.d/slapd ] && pgrep -x slapd >/dev/null; then $SUDO /etc/init.d/slapd stop || true; fi
  fi
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
