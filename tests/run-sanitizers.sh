#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The unit and host tiers once more, with every binary and test program
# built with AddressSanitizer + UndefinedBehaviorSanitizer (gcc), in a build
# directory of its own (default: the main build dir + "-asan"). Reports go
# to files, one per process, not only to stderr: a test that expects one of
# our binaries to fail cannot tell a sanitizer's exit from ours, so after
# the run any report at all fails it, whatever the tests said.
#
#   tests/run-sanitizers.sh [MESON-TEST-ARGS...]   default: --suite unit --suite host
#
# Prints "sanitizers (ASan+UBSan+LSan): N tests passed, F failed, R reports".
set -eu -o pipefail

src=$(cd "$(dirname "$0")/.." && pwd)
build=${CVM_ASAN_BUILDDIR:-${CVM_BUILDDIR:-$src/build}-asan}
reports=$build/sanitizer-reports

if [ ! -f "$build/build.ninja" ]; then
        # b_lundef=false: the ASan runtime is linked into executables only.
        meson setup "$build" "$src" --werror -Dvm-tests=disabled \
                -Db_sanitize=address,undefined -Db_lundef=false >/dev/null
fi
meson compile -C "$build" >/dev/null

rm -rf "$reports"
mkdir -p "$reports"
# detect_leaks: LeakSanitizer at every exit, also of the processes that
# die on purpose (test hooks abort with SIGABRT: no leak check then).
export ASAN_OPTIONS="halt_on_error=1:abort_on_error=0:detect_leaks=1:log_path=$reports/asan"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:log_path=$reports/ubsan"
export LSAN_OPTIONS="log_path=$reports/lsan"
export CVM_SANITIZED=1
[ $# -gt 0 ] || set -- --suite unit --suite host
rc=0
meson test -C "$build" --print-errorlogs --num-processes 1 --timeout-multiplier 3 "$@" || rc=$?

n=$(find "$reports" -type f | wc -l)
for f in $(find "$reports" -type f); do
        echo "=== sanitizer report: $f"
        cat "$f"
done
passed=$(awk '/^Ok:/ { n = $2 } END { print n + 0 }' "$build/meson-logs/testlog.txt")
failed=$(awk '/^Fail:/ { n = $2 } END { print n + 0 }' "$build/meson-logs/testlog.txt")
echo "sanitizers (ASan+UBSan+LSan): $passed tests passed, $failed failed, $n reports"
[ "$rc" = 0 ] && [ "$n" = 0 ]
