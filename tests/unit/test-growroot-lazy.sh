#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# cvm-growroot loads libcryptsetup, tpm2-tss and libcrypto on first use
# (growroot/growroot-lazy.c), so that a no-op run never maps them. Checked
# against the built binaries, independently of that file's own claims:
#  * none of these libraries is in cvm-growroot's DT_NEEDED (a function
#    used without a trampoline would bring its library back: named here);
#  * each soname the trampolines dlopen() is one cvm-enroll, linked the
#    ordinary way against the same pkg-config dependencies, needs;
#  * each trampoline's symbol is exported by the library it loads it from
#    (nm -D of the library ldd resolves for cvm-enroll).
set -eu -o pipefail
. "$(dirname "$0")/../lib/common.sh"

[ "$(uname -m)" = x86_64 ] || skip "lazy loading is x86-64 only"
require_cmd readelf nm ldd

src=$CVM_SRCDIR/growroot/growroot-lazy.c
needed() { readelf -d "$1" | sed -n 's/.*(NEEDED).*\[\(.*\)\]$/\1/p'; }

ours=$(needed "$CVM_GROWROOT")
enroll=$(needed "$CVM_ENROLL")
mapfile -t sonames < <(sed -n 's/^ *\[LAZY_[A-Z]*\] = "\(.*\)",$/\1/p' "$src")
check_eq "growroot-lazy.c lists 6 sonames" 6 "${#sonames[@]}"

for so in "${sonames[@]}"; do
        check_fails "$so: not loaded at exec by cvm-growroot" grep -qxF "$so" <<<"$ours"
        check "$so: a library cvm-enroll links against" grep -qxF "$so" <<<"$enroll"
done

# Symbols cvm-growroot still takes from any of these libraries through
# the dynamic loader (undefined dynamic symbols): must be none.
undef=$(nm -D --undefined-only "$CVM_GROWROOT" | awk '{ print $2 }' | sed 's/@.*//' |
        grep -E '^(crypt_|Esys_|Tss2_|EVP_|OPENSSL_|RAND_|BN_|ERR_)' || true)
check_eq "cvm-growroot: no undefined crypt_/Esys_/Tss2_/OpenSSL symbols" "" "$undef"

# LAZY_STUB(N, symbol): N indexes the soname list.
declare -A exports=()
while read -r idx sym; do
        so=${sonames[idx]}
        if [ -z "${exports[$so]:-}" ]; then
                path=$(ldd "$CVM_ENROLL" | awk -v so="$so" '$1 == so { print $3 }')
                exports[$so]=$(nm -D --defined-only "$path" | awk '{ print $3 }' | sed 's/@.*//')
        fi
        check "$sym: exported by $so" grep -qxF "$sym" <<<"${exports[$so]}"
done < <(sed -n 's/^LAZY_STUB(\([0-9]\), \([A-Za-z0-9_]*\))$/\1 \2/p' "$src")

check "cvm-growroot --version runs" eval '"$CVM_GROWROOT" --version >/dev/null'
check_done
