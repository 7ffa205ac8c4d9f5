#!/bin/sh
# Copies every bundled and fixture profile into the `profile` target's corpus.
set -eu
cd "$(dirname "$0")"
mkdir -p corpus/profile
for f in ../profiles/*.toml; do
    cp "$f" "corpus/profile/bundled-$(basename "$f")"
done
for f in ../tests/fixtures/*/profiles/*.toml; do
    cp "$f" "corpus/profile/$(basename "$(dirname "$(dirname "$f")")")-$(basename "$f")"
done
