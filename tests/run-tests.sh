#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# README's test command: install prerequisites, build with --werror, run
# every tier (unit, host, vm) and print the time each took. Exits non-zero
# if any test fails. Skipping is not allowed here (CVM_NO_SKIP=1): a tier
# whose prerequisites are missing fails instead of passing silently.
#
#   sudo tests/run-tests.sh [SUITE...]     default: unit host vm
set -eu -o pipefail

src=$(cd "$(dirname "$0")/.." && pwd)
build=${CVM_BUILDDIR:-$src/build}
suites=("$@")
[ ${#suites[@]} -gt 0 ] || suites=(unit host vm)

"$src/tools/install-deps.sh"

if [ -f "$build/build.ninja" ]; then
        meson configure "$build" -Dwerror=true -Dvm-tests=enabled >/dev/null
else
        meson setup "$build" "$src" --werror -Dvm-tests=enabled
fi
meson compile -C "$build"

export CVM_NO_SKIP=1
declare -A took result
failed=0
for s in "${suites[@]}"; do
        echo "=== tier: $s ==="
        start=$(date +%s)
        if meson test -C "$build" --suite "$s" --print-errorlogs --num-processes 1; then
                result[$s]=passed
        else
                result[$s]=FAILED
                failed=1
        fi
        took[$s]=$(($(date +%s) - start))
done

echo "=== summary ==="
for s in "${suites[@]}"; do
        printf '%-6s %-7s %4ss\n' "$s" "${result[$s]}" "${took[$s]}"
done
exit $failed
