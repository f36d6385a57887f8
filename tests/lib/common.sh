# SPDX-License-Identifier: LGPL-2.1-or-later
# Shared helpers for shell tests of every tier. Source it, don't run it.
#
# Exit codes follow meson/automake: 0 pass, 77 skipped, 99 hard error,
# anything else fail. With CVM_NO_SKIP=1 (set by tests/run-tests.sh, i.e. CI)
# a skip becomes a hard error, so CI can never count a skipped tier as passed.

CVM_SRCDIR=${CVM_SRCDIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
CVM_BUILDDIR=${CVM_BUILDDIR:-$CVM_SRCDIR/build}
export CVM_SRCDIR CVM_BUILDDIR

CVM_GROWROOT=${CVM_GROWROOT:-$CVM_BUILDDIR/growroot/cvm-growroot}
CVM_ENROLL=${CVM_ENROLL:-$CVM_BUILDDIR/enroll/cvm-enroll}
CVM_AUTHCHECK=${CVM_AUTHCHECK:-$CVM_BUILDDIR/authcheck/cvm-authcheck}
CVM_VERIFY_HOST=${CVM_VERIFY_HOST:-$CVM_BUILDDIR/authcheck/cvm-verify-host}
CVM_TESTTOOL=${CVM_TESTTOOL:-$CVM_BUILDDIR/tests/cvm-testtool}

# The binaries themselves, wrapped or not (to look inside them).
CVM_GROWROOT_REAL=${CVM_GROWROOT_REAL:-$CVM_GROWROOT} CVM_ENROLL_REAL=${CVM_ENROLL_REAL:-$CVM_ENROLL}
export CVM_GROWROOT_REAL CVM_ENROLL_REAL

# CVM_WRAP='valgrind --tool=memcheck ...' (tests/run-valgrind.sh): every call
# of a product binary goes through that command. The tests keep calling
# "$CVM_ENROLL" etc.; those then name a small script that execs the real
# binary under the wrapper. The command is written into the script, not read
# from the environment, so it also holds where the environment is cleared
# (a remote command run by sshd).
if [ -n "${CVM_WRAP:-}" ]; then
        _cvm_wrapdir=$CVM_BUILDDIR/test-tmp/wrap
        mkdir -p "$_cvm_wrapdir"
        for _v in CVM_GROWROOT CVM_ENROLL CVM_AUTHCHECK CVM_VERIFY_HOST; do
                _real=${!_v}
                case $_real in "$_cvm_wrapdir"/*) continue ;; esac
                printf '#!/bin/sh\nexec %s %q "$@"\n' "$CVM_WRAP" "$_real" >"$_cvm_wrapdir/${_real##*/}.tmp"
                chmod +x "$_cvm_wrapdir/${_real##*/}.tmp"
                mv -f "$_cvm_wrapdir/${_real##*/}.tmp" "$_cvm_wrapdir/${_real##*/}"
                printf -v "$_v" '%s' "$_cvm_wrapdir/${_real##*/}"
        done
        unset _v _real
fi
export CVM_GROWROOT CVM_ENROLL CVM_AUTHCHECK CVM_VERIFY_HOST CVM_TESTTOOL

# instrumented: the binaries run under sanitizers or valgrind, so timing
# goals mean nothing (checks of them are left out, and say so).
instrumented() {
        [ -n "${CVM_WRAP:-}" ] || [ "${CVM_SANITIZED:-0}" = 1 ]
}

# skip REASON: this test cannot run here.
skip() {
        if [ "${CVM_NO_SKIP:-0}" = 1 ]; then
                echo "error: prerequisite missing and skipping is not allowed (CVM_NO_SKIP=1): $*" >&2
                exit 99
        fi
        echo "skipped: $*"
        exit 77
}

# die REASON: the harness itself is broken (not the code under test).
die() {
        echo "error: $*" >&2
        exit 99
}

require_root() {
        [ "$(id -u)" = 0 ] || skip "must be root"
}

# require_cmd CMD...: each command must be on PATH.
require_cmd() {
        local c
        for c in "$@"; do
                command -v "$c" >/dev/null || skip "'$c' not installed"
        done
}

# A per-test scratch directory under the build dir, removed by the cleanup
# trap unless CVM_KEEP_TMP=1 (useful when reading a failure).
test_tmpdir() {
        local name=${1:-$(basename "$0" .sh)}
        mkdir -p "$CVM_BUILDDIR/test-tmp"
        mktemp -d "$CVM_BUILDDIR/test-tmp/$name.XXXXXX"
}

# Cleanup actions registered with at_exit run in reverse order on EXIT.
_cvm_exit_actions=()
at_exit() {
        _cvm_exit_actions=("$*" "${_cvm_exit_actions[@]}")
}
_cvm_run_exit_actions() {
        local rc=$? a
        set +e
        for a in "${_cvm_exit_actions[@]}"; do
                eval "$a"
        done
        exit $rc
}
trap _cvm_run_exit_actions EXIT

# Minimal TAP-ish assertions for shell tests: each prints one line, failures
# are counted and make the test exit 1 from check_done.
_cvm_passed=0
_cvm_failed=0
ok() {
        _cvm_passed=$((_cvm_passed + 1))
        echo "ok - $*"
}
not_ok() {
        _cvm_failed=$((_cvm_failed + 1))
        echo "not ok - $*"
}
# check DESCRIPTION CMD...: run CMD, record pass/fail.
check() {
        local desc=$1
        shift
        if "$@"; then ok "$desc"; else not_ok "$desc"; fi
}
# check_fails DESCRIPTION CMD...: CMD must fail.
check_fails() {
        local desc=$1
        shift
        if "$@"; then not_ok "$desc (unexpectedly succeeded)"; else ok "$desc"; fi
}
check_eq() {
        local desc=$1 want=$2 got=$3
        if [ "$want" = "$got" ]; then
                ok "$desc"
        else
                not_ok "$desc: want '$want', got '$got'"
        fi
}
check_done() {
        echo "$_cvm_passed passed, $_cvm_failed failed"
        [ "$_cvm_failed" = 0 ] && [ "$_cvm_passed" -gt 0 ]
}

# contains TEXT STRING: TEXT has STRING in it (fixed string, no regex).
contains() {
        grep -F -e "$2" <<<"$1" >/dev/null
}
