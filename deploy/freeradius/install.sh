#!/bin/sh
# Applies Kalitka's FreeRADIUS setup to a FreeRADIUS 3.x configuration tree (Debian's stock
# /etc/freeradius/3.0 by default): installs and enables the `kalitka` module and site, and turns
# off what would stop the stock tree from starting beside it. README.md beside this file says
# what to edit afterwards; the test suite runs this very script on a copy of the stock tree.
#   sh install.sh [RADDB]         rlm_rest: FreeRADIUS asks Kalitka over HTTP (any store; grant secrets)
#   sh install.sh --sql [RADDB]   rlm_sql: FreeRADIUS asks Kalitka's PostgreSQL (MAC authentication)
# Each enables its own module and site and disables the other's, so running it again switches.
set -eu
NAME=kalitka
OTHER=kalitka_sql
if [ "${1:-}" = "--sql" ]; then
  NAME=kalitka_sql
  OTHER=kalitka
  shift
fi
RADDB=${1:-/etc/freeradius/3.0}
HERE=$(cd "$(dirname "$0")" && pwd)
[ -f "$RADDB/radiusd.conf" ] || { echo "install.sh: $RADDB/radiusd.conf not found (is FreeRADIUS 3 installed?)" >&2; exit 1; }

for f in mods-available/$NAME sites-available/$NAME; do
  # Keep an edited copy (it holds the API token and the address): the new one is written beside it.
  if [ -f "$RADDB/$f" ] && ! cmp -s "$HERE/$f" "$RADDB/$f"; then
    cp "$RADDB/$f" "$RADDB/$f.bak"
    echo "install.sh: $RADDB/$f existed; the old one is kept as $f.bak (copy your settings over)"
  fi
  cp "$HERE/$f" "$RADDB/$f"
  chmod 640 "$RADDB/$f"
  if getent group freerad >/dev/null 2>&1; then chgrp freerad "$RADDB/$f"; fi
done
ln -sfn ../mods-available/$NAME "$RADDB/mods-enabled/$NAME"
ln -sfn ../sites-available/$NAME "$RADDB/sites-enabled/$NAME"
# Both sites listen on 1812/1813: only one may be enabled.
rm -f "$RADDB/sites-enabled/$OTHER" "$RADDB/mods-enabled/$OTHER"

# The stock `default` and `inner-tunnel` sites listen on 1812/1813 as ours does. Without them the
# stock `eap` module has no `Auth-Type EAP` section to serve and FreeRADIUS refuses to start
# ("Failed to find 'Auth-Type EAP' section"); MAC authentication needs no EAP, so it goes too.
rm -f "$RADDB/sites-enabled/default" "$RADDB/sites-enabled/inner-tunnel" "$RADDB/mods-enabled/eap"
if [ "$NAME" = kalitka_sql ]; then
  echo "install.sh: Kalitka's SQL module and site are enabled in $RADDB; now edit radius_db and clients.conf"
else
  echo "install.sh: Kalitka's module and site are enabled in $RADDB; now edit connect_uri, api_token and clients.conf"
fi
