#!/usr/bin/env bash
# Stops the server tests/postgres/start.sh started (if it runs).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
data="$root/target/postgres"
[[ -f "$root/target/postgres.bindir" && -d "$data" ]] || exit 0
bindir=$(cat "$root/target/postgres.bindir")
as_owner=()
if [[ $(id -u) == 0 ]]; then
  as_owner=(runuser -u postgres --)
fi
"${as_owner[@]}" "$bindir/pg_ctl" -D "$data" stop -m fast -s || true
