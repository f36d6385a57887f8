#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# README's test command: install prerequisites, build with --werror, run
# every tier and print the time each took. Exits non-zero if any test
# fails. Skipping is not allowed here (CVM_NO_SKIP=1): a tier whose
# prerequisites are missing fails instead of passing silently.
#
#   sudo tests/run-tests.sh [TIER...]
#
# Tiers: unit, host, vm (meson suites of the main build), and
#   sanitize  unit + host again, built with ASan + UBSan (tests/run-sanitizers.sh)
#   valgrind  each binary's host scenarios under memcheck (tests/run-valgrind.sh)
#   fuzz      every libFuzzer target for 20 s (tests/run-fuzz-smoke.sh)
# Default: all of them.
set -eu -o pipefail

src=$(cd "$(dirname "$0")/.." && pwd)
build=${CVM_BUILDDIR:-$src/build}
suites=("$@")
[ ${#suites[@]} -gt 0 ] || suites=(unit host vm sanitize valgrind fuzz)

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
        case $s in
        sanitize) cmd=("$src/tests/run-sanitizers.sh") ;;
        valgrind) cmd=("$src/tests/run-valgrind.sh") ;;
        fuzz) cmd=("$src/tests/run-fuzz-smoke.sh") ;;
        *) cmd=(meson test -C "$build" --suite "$s" --print-errorlogs --num-processes 1) ;;
        esac
        if CVM_BUILDDIR=$build "${cmd[@]}" 2>&1 | tee "$build/tier-$s.log"; then
                result[$s]=passed
        else
                result[$s]=FAILED
                failed=1
        fi
        took[$s]=$(($(date +%s) - start))
done

echo "=== summary ==="
for s in "${suites[@]}"; do
        printf '%-8s %-7s %4ss\n' "$s" "${result[$s]}" "${took[$s]}"
done
# The figures of the sanitizer, valgrind and fuzz tiers (README, "Reliability").
for s in "${suites[@]}"; do
        grep -h -E '^(sanitizers|valgrind|fuzz): ' "$build/tier-$s.log" 2>/dev/null | tail -1 || true
done
exit $failed
