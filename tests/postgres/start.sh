#!/usr/bin/env bash
# Starts a scratch PostgreSQL server for the tests of `plugipay customers mirror URL`
# and prints the line that points the tests at it:
#
#   eval "$(bash tests/postgres/start.sh)"     # sets PLUGIPAY_TEST_POSTGRES_URL
#   cargo test --workspace
#   bash tests/postgres/stop.sh
#
# The server keeps its data in target/postgres (made anew each time), trusts local
# connections and listens on a Unix socket in that directory; for the TLS tests also on
# 127.0.0.1 (a free port) with a certificate for `localhost` from a test authority of its
# own (PLUGIPAY_TEST_POSTGRES_TLS_URL, PLUGIPAY_TEST_POSTGRES_CA: no system trusts it). When
# the server's programs are missing, installs Debian's `postgresql` package (root
# only). As root, the server runs as the `postgres` user (it refuses to run as root).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
data="$root/target/postgres"

bindir=
for candidate in "$(pg_config --bindir 2>/dev/null || true)" /usr/lib/postgresql/*/bin; do
  if [[ -n "$candidate" && -x "$candidate/initdb" && -x "$candidate/pg_ctl" ]]; then
    bindir=$candidate
  fi
done
if [[ -z "$bindir" ]]; then
  if [[ $(id -u) != 0 ]] || ! command -v apt-get >/dev/null; then
    echo "start.sh: no PostgreSQL server programs (initdb, pg_ctl); install PostgreSQL" >&2
    exit 1
  fi
  echo "start.sh: installing PostgreSQL (Debian's postgresql package)" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq --no-install-recommends postgresql >&2
  bindir=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
fi

as_owner=()
if [[ $(id -u) == 0 ]]; then
  id postgres >/dev/null 2>&1 || useradd --system --no-create-home postgres
  as_owner=(runuser -u postgres --)
fi

"${as_owner[@]}" "$bindir/pg_ctl" -D "$data" stop -m immediate >/dev/null 2>&1 || true
rm -rf "$data"
mkdir -p "$data"
if [[ $(id -u) == 0 ]]; then
  chown postgres "$data"
fi
"${as_owner[@]}" "$bindir/initdb" -D "$data" --auth=trust --username=postgres \
  --encoding=UTF8 --no-sync >/dev/null

# A certificate authority for the tests, and the server's certificate from it.
tls="$root/target/postgres-tls"
rm -rf "$tls"
mkdir -p "$tls"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=plugipay test authority" \
  -keyout "$tls/ca.key" -out "$tls/ca.pem" 2>/dev/null
openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" \
  -keyout "$data/server.key" -out "$tls/server.csr" 2>/dev/null
printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n' > "$tls/ext"
openssl x509 -req -in "$tls/server.csr" -CA "$tls/ca.pem" -CAkey "$tls/ca.key" \
  -CAcreateserial -days 2 -extfile "$tls/ext" -out "$data/server.crt" 2>/dev/null
chmod 600 "$data/server.key"
if [[ $(id -u) == 0 ]]; then
  chown postgres "$data/server.key" "$data/server.crt"
fi
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
# -w: returns once the server accepts connections.
"${as_owner[@]}" "$bindir/pg_ctl" -D "$data" -l "$data/server.log" -w -s \
  -o "-c listen_addresses=127.0.0.1 -p $port -k '$data' -c ssl=on -c fsync=off -c full_page_writes=off" \
  start >&2
echo "$bindir" > "$root/target/postgres.bindir"
echo "export PLUGIPAY_TEST_POSTGRES_URL='postgres://postgres@/postgres?host=$data&port=$port'"
echo "export PLUGIPAY_TEST_POSTGRES_TLS_URL='postgres://postgres@localhost:$port/postgres'"
echo "export PLUGIPAY_TEST_POSTGRES_CA='$tls/ca.pem'"
