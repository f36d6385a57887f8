#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Command-line conventions shared by all binaries (lib/options.c): --help,
# --version, a bad option, --json values. No root, no devices.
set -eu -o pipefail
. "$(dirname "$0")/../lib/common.sh"

declare -A man=([cvm-growroot]=8 [cvm-enroll]=8 [cvm-authcheck]=8 [cvm-verify-host]=1)
version=$(sed -n "s/^ *version: '\(.*\)',/\1/p" "$CVM_SRCDIR/meson.build")

for bin in "$CVM_GROWROOT" "$CVM_ENROLL" "$CVM_AUTHCHECK" "$CVM_VERIFY_HOST"; do
        name=$(basename "$bin")
        out=$("$bin" --help)
        check "$name --help names its man page" contains "$out" "See $name(${man[$name]})"
        check "$name --help lists --json" contains "$out" "--json"
        check_eq "$name --version" "$name $version (cvm-firstboot)" "$("$bin" --version)"

        set +e
        err=$("$bin" --no-such-option 2>&1 >/dev/null)
        rc=$?
        set -e
        check_eq "$name bad option exit status" 1 "$rc"
        check "$name bad option points to --help" contains "$err" "Try '$name --help'"
        check_eq "$name bad option prints two lines, not the help" 2 "$(wc -l <<<"$err")"

        check_fails "$name --json=bogus is refused" "$bin" --json=bogus --help
        check_fails "$name --log-level=bogus is refused" "$bin" --log-level=bogus --help
        check_fails "$name --tpm2-device= (empty) is refused" "$bin" --tpm2-device= --help
done

check_fails "cvm-enroll without a command fails" "$CVM_ENROLL"
err=$("$CVM_ENROLL" frobnicate 2>&1 || true)
check "cvm-enroll names an unknown command" contains "$err" "unknown command 'frobnicate'"

check_done
