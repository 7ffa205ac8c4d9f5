#!/usr/bin/env bash
# Installs the real programs `gen check` runs (Debian 12 or Ubuntu 24.04), as
# root. Idempotent and quiet; package scripts are kept from starting the
# daemons. The packages are those of validator-packages.txt, the list
# `gen check --install-validators` installs from too.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
list="$(dirname "$0")/validator-packages.txt"
# shellcheck source=/dev/null
. /etc/os-release
read -r -a PKGS <<<"$(awk -v d="$ID-$VERSION_ID" '$1 == d { $1 = ""; print }' "$list")"
if [ "${#PKGS[@]}" -eq 0 ]; then
  echo "install-validators: no packages listed for $ID-$VERSION_ID in $list" >&2
  exit 1
fi
CHECK_JSONSCHEMA=$(awk '$1 == "pip" { print $2 }' "$list")
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  policy=/usr/sbin/policy-rc.d
  [ -e "$policy" ] || { printf '#!/bin/sh\nexit 101\n' > "$policy"; chmod 755 "$policy"; trap 'rm -f "$policy"' EXIT; }
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# check-jsonschema ships the Compose Specification schema (vendor.compose-spec).
VENV=/opt/gen-validators/venv
if [ ! -x "$VENV/bin/check-jsonschema" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check "$CHECK_JSONSCHEMA"
fi
ln -sf "$VENV/bin/check-jsonschema" /usr/local/bin/check-jsonschema
# A server for every PostgreSQL major gen targets (Debian 12 ships only 15).
bash "$(dirname "$0")/install-postgresql.sh"
# Stop anything a package script started anyway.
if command -v pg_lsclusters >/dev/null; then
  pg_lsclusters -h 2>/dev/null | awk '$4=="online"{print $1, $2}' | while read -r v c; do
    pg_ctlcluster "$v" "$c" stop >/dev/null 2>&1 || true
  done
fi
