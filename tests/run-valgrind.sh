#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# valgrind memcheck over every product binary's host-tier scenarios: the host
# suite of an existing build runs with CVM_WRAP set (tests/lib/common.sh), so
# each call of cvm-growroot, cvm-enroll, cvm-authcheck and cvm-verify-host
# runs under memcheck with its own log. Tests pass or fail as usual; then
# every log is read, and any memcheck error (invalid access, uninitialised
# value, definite leak) fails the run, also where a test expected the binary
# to fail (an exit code alone cannot tell memcheck's from ours).
#
#   tests/run-valgrind.sh [MESON-TEST-ARGS...]
#
# Default: the host tests that exercise each binary's scenarios (every
# binary, every verb, the refusal and fault paths). Left out by default,
# for CI time (memcheck costs 2-8 s a call): the two bulk hostile-input
# loops (test-enroll-hostile, 242 calls; test-verify-tamper, 556 calls),
# whose parsers the fuzz targets, their corpus replays below and the
# ASan/UBSan run of the whole host suite cover; test-enroll-crash (its
# runs end in _exit at a hook; its reruns repeat test-enroll-wipe's
# paths); test-verify-ssh (sshd timing). `tests/run-valgrind.sh --suite
# host` runs them all.
#
# Prints "valgrind: N runs of our binaries, E with errors" (N counts every
# process memcheck ran: binary calls and corpus replays).
set -eu -o pipefail

src=$(cd "$(dirname "$0")/.." && pwd)
build=${CVM_BUILDDIR:-$src/build}
logs=$build/valgrind-logs
command -v valgrind >/dev/null || { echo "error: valgrind not installed" >&2; exit 99; }

rm -rf "$logs"
mkdir -p "$logs"
# Suppressions: tests/valgrind.supp, each with the reason it is not ours.
# Only definite leaks count
# as errors: "possibly lost" blocks are interior pointers into the caches
# OpenSSL and tpm2-tss keep for the process lifetime.
export CVM_WRAP="valgrind --tool=memcheck --error-exitcode=97 --leak-check=full \
--show-leak-kinds=definite --errors-for-leak-kinds=definite \
--suppressions=$src/tests/valgrind.supp --log-file=$logs/%p.log"
[ $# -gt 0 ] || set -- test-tpm2-seal test-enroll-interop test-enroll-pcr-change test-enroll-wipe \
        test-growroot-grow test-growroot-bad test-authcheck-azure test-authcheck-template \
        test-authcheck-gcp test-tpm-faults
rc=0
meson test -C "$build" --print-errorlogs --num-processes 1 --timeout-multiplier 4 "$@" || rc=$?
# The fuzz targets' corpus replays (unit suite) too: every parser of hostile
# input on every seed, under memcheck.
mapfile -t replays < <(meson test -C "$build" --list 2>/dev/null | sed -n 's|^.* / \(fuzz-replay-.*\)$|\1|p')
meson test -C "$build" --print-errorlogs --num-processes 2 --timeout-multiplier 4 \
        --wrapper "$CVM_WRAP" "${replays[@]}" || rc=$?

runs=$(find "$logs" -name '*.log' | wc -l)
bad=$(grep -L 'ERROR SUMMARY: 0 errors' "$logs"/*.log 2>/dev/null || true)
nbad=$(printf '%s' "$bad" | grep -c . || true)
for f in $bad; do
        echo "=== memcheck errors: $f"
        cat "$f"
done
echo "valgrind: $runs runs of our binaries, $nbad with errors"
[ "$runs" -gt 0 ] || { echo "error: no binary ran under valgrind" >&2; exit 99; }
[ "$rc" = 0 ] && [ "$nbad" = 0 ]
