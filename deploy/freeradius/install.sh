#!/bin/sh
# Applies Kalitka's FreeRADIUS setup to a FreeRADIUS 3.x configuration tree (Debian's stock
# /etc/freeradius/3.0 by default): installs and enables the `kalitka` module and site, and turns
# off what would stop the stock tree from starting beside it. README.md beside this file says
# what to edit afterwards; the test suite runs this very script on a copy of the stock tree.
#   sh install.sh [RADDB]
set -eu
RADDB=${1:-/etc/freeradius/3.0}
HERE=$(cd "$(dirname "$0")" && pwd)
[ -f "$RADDB/radiusd.conf" ] || { echo "install.sh: $RADDB/radiusd.conf not found (is FreeRADIUS 3 installed?)" >&2; exit 1; }

for f in mods-available/kalitka sites-available/kalitka; do
  # Keep an edited copy (it holds the API token and the address): the new one is written beside it.
  if [ -f "$RADDB/$f" ] && ! cmp -s "$HERE/$f" "$RADDB/$f"; then
    cp "$RADDB/$f" "$RADDB/$f.bak"
    echo "install.sh: $RADDB/$f existed; the old one is kept as $f.bak (copy your api_token and connect_uri over)"
  fi
  cp "$HERE/$f" "$RADDB/$f"
  chmod 640 "$RADDB/$f"
  if getent group freerad >/dev/null 2>&1; then chgrp freerad "$RADDB/$f"; fi
done
ln -sfn ../mods-available/kalitka "$RADDB/mods-enabled/kalitka"
ln -sfn ../sites-available/kalitka "$RADDB/sites-enabled/kalitka"

# The stock `default` and `inner-tunnel` sites listen on 1812/1813 as ours does. Without them the
# stock `eap` module has no `Auth-Type EAP` section to serve and FreeRADIUS refuses to start
# ("Failed to find 'Auth-Type EAP' section"); MAC authentication needs no EAP, so it goes too.
rm -f "$RADDB/sites-enabled/default" "$RADDB/sites-enabled/inner-tunnel" "$RADDB/mods-enabled/eap"
echo "install.sh: Kalitka's module and site are enabled in $RADDB; now edit connect_uri, api_token and clients.conf"
