#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Every libFuzzer target (fuzz/meson.build) for a short time from its seed
# corpus, with ASan + UBSan (clang, a build directory of its own: default
# the main build dir + "-fuzz"). New inputs stay in the build tree; a crash
# lands in <build>/fuzz/artifacts/ and fails the run. The long run is
# documented in fuzz/README.md.
#
#   tests/run-fuzz-smoke.sh
#
# Prints "fuzz: N targets, M execs, C crashes".
set -eu -o pipefail

src=$(cd "$(dirname "$0")/.." && pwd)
build=${CVM_FUZZ_BUILDDIR:-${CVM_BUILDDIR:-$src/build}-fuzz}
cc=${CVM_FUZZ_CC:-$(command -v clang || command -v clang-14 || true)}
[ -n "$cc" ] || { echo "error: clang not installed" >&2; exit 99; }

if [ ! -f "$build/build.ninja" ]; then
        CC=$cc meson setup "$build" "$src" -Dfuzz=true -Db_lundef=false -Dtests=false >/dev/null
fi
meson compile -C "$build" >/dev/null
rm -rf "$build/fuzz/artifacts"

# Two targets at a time: libFuzzer runs one process each, CI has 2 cores.
rc=0
meson test -C "$build" --suite fuzz --num-processes 2 --print-errorlogs || rc=$?

log=$build/meson-logs/testlog.txt
# -print_final_stats=1: each target ends with its number of executions.
read -r targets execs < <(awk '/^stat::number_of_executed_units:/ { n++; s += $2 } END { print n + 0, s + 0 }' "$log")
crashes=$(find "$build/fuzz/artifacts" -type f 2>/dev/null | wc -l)
echo "fuzz: $targets targets, $execs execs, $crashes crashes"
[ "$rc" = 0 ] && [ "$crashes" = 0 ]
