#!/usr/bin/env bash
# The baseline strata is measured against: what users run today, `docker build` for every
# image of a fleet in topological order (order.txt from genbuildfleet.py), one at a time.
set -euo pipefail
fleet=$1
while read -r name; do
    [ -n "$name" ] || continue
    # The label lets scripts/bench find these images once strata has moved their tags away.
    DOCKER_BUILDKIT=1 "${DOCKER:-/usr/bin/docker}" build --quiet --network host --label dev.strata.bench=baseline \
        -t "$name" "$fleet/$name" >/dev/null
done <"$fleet/order.txt"
