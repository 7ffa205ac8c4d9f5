#!/usr/bin/env bash
# The fleet benchmark: builds gen in release mode, then measures gen build,
# build --check, diff --against (and the whole-tree markdown review), diff and
# apply on synthetic fleets of 10, 100 and 1000 hosts beside their floors
# (cp -r, diff -ruN / -rq, a durable-write loop), the build's linearity against
# cp -r's own, builds on tmpfs with gen's CPU time, and the share of the tree
# that lists every host. Prints a table and `BENCH <name> <value> <unit>` lines.
#   bash bench/run.sh [--runs N] [--sizes 10,100,1000] [--work DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet --bin gen --example fleet_bench
target="${CARGO_TARGET_DIR:-target}"
exec "$target/release/examples/fleet_bench" --gen "$target/release/gen" "$@"
