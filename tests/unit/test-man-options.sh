#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The man pages keep up with the binaries: every long option a binary's
# --help prints must appear in its man page source (man/*.scd). No root,
# no devices.
set -eu -o pipefail
. "$(dirname "$0")/../lib/common.sh"

declare -A page=(
        [cvm-growroot]=cvm-growroot.8
        [cvm-enroll]=cvm-enroll.8
        [cvm-authcheck]=cvm-authcheck.8
        [cvm-verify-host]=cvm-verify-host.1
)

# in_page SCD OPTION: the page names --OPTION (not just a longer option
# that starts with it, e.g. --host in --host-key-file).
in_page() {
        grep -E -q -e "--$2([^a-z0-9-]|\$)" "$1"
}

for bin in "$CVM_GROWROOT" "$CVM_ENROLL" "$CVM_AUTHCHECK" "$CVM_VERIFY_HOST"; do
        name=$(basename "$bin")
        scd=${CVM_MAN_DIR:-$CVM_SRCDIR/man}/${page[$name]}.scd
        [ -r "$scd" ] || die "no man page source '$scd'"
        help=$("$bin" --help) || die "'$name --help' failed"
        opts=$(grep -o -E -e '--[a-z0-9][a-z0-9-]*' <<<"$help" | sort -u)
        [ -n "$opts" ] || die "no long options in '$name --help'"
        for opt in $opts; do
                check "$name: ${page[$name]} documents $opt" in_page "$scd" "${opt#--}"
        done
done

check_done
