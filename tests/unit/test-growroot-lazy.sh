#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# cvm-growroot loads libcryptsetup, tpm2-tss, libcrypto, libfdisk, libblkid
# and libmount on first use (growroot/growroot-lazy.c), so that a no-op run
# never maps them. Checked
# against the built binaries, independently of that file's own claims:
#  * none of these libraries is in cvm-growroot's DT_NEEDED (a function
#    used without a wrapper would bring its library back: named here);
#  * each soname the wrappers dlopen() is the SONAME of the library
#    pkg-config gives the build (the lib*.so the linker would use);
#  * each wrapped function is exported by that library (nm -D), and is a
#    hidden function of cvm-growroot;
#  * at exec cvm-growroot needs libc and json-c only.
set -eu -o pipefail
. "$(dirname "$0")/../lib/common.sh"

require_cmd readelf nm pkg-config

src=$CVM_SRCDIR/growroot/growroot-lazy.c
needed() { readelf -d "$1" | sed -n 's/.*(NEEDED).*\[\(.*\)\]$/\1/p'; }

# A sanitizer build (tests/run-sanitizers.sh) links the compiler's
# runtimes (libasan, libubsan, ...) into every binary: instrumentation, not
# a library the code uses, so they are left out of the comparison.
ours=$(needed "$CVM_GROWROOT" | grep -v -E '^lib(a|ub|l|t|hwa)san\.so' || :)
check_eq "cvm-growroot's DT_NEEDED" "libjson-c.so.5 libc.so.6" "$(echo $ours)"
mapfile -t libs < <(sed -n 's/^ *\[LIB_\([A-Z0-9_]*\)\] = ".*",$/\1/p' "$src")
mapfile -t sonames < <(sed -n 's/^ *\[LIB_[A-Z0-9_]*\] = "\(.*\)",$/\1/p' "$src")
check_eq "growroot-lazy.c lists 9 sonames" 9 "${#sonames[@]}"

# The library file the build links against, by the pkg-config name meson
# uses for it (meson.build).
declare -A pkg=([CRYPTSETUP]=libcryptsetup [ESYS]=tss2-esys [MU]=tss2-mu [RC]=tss2-rc [TCTILDR]=tss2-tctildr
        [CRYPTO]=libcrypto [FDISK]=fdisk [BLKID]=blkid [MOUNT]=mount)
declare -A path_of=()
for i in "${!libs[@]}"; do
        p=${pkg[${libs[i]}]:-}
        so=${sonames[i]}
        check_fails "$so: not loaded at exec by cvm-growroot" grep -qxF "$so" <<<"$ours"
        check "LIB_${libs[i]}: a pkg-config name is known" test -n "$p"
        [ -n "$p" ] || continue
        lib=$(pkg-config --libs-only-l "$p" | tr ' ' '\n' | sed -n 's/^-l//p' | head -n 1)
        path_of[${libs[i]}]=$(readlink -f "$(pkg-config --variable=libdir "$p")/lib$lib.so")
        check_eq "$so: the SONAME of the library pkg-config's $p links" "$so" \
                "$(readelf -d "${path_of[${libs[i]}]}" | sed -n 's/.*(SONAME).*\[\(.*\)\]$/\1/p')"
done

# Symbols cvm-growroot still takes from any of these libraries through
# the dynamic loader (undefined dynamic symbols): must be none.
undef=$(nm -D --undefined-only "$CVM_GROWROOT" | awk '{ print $2 }' | sed 's/@.*//' |
        grep -E '^(crypt_|Esys_|Tss2_|EVP_|OPENSSL_|RAND_|BN_|ERR_|fdisk_|blkid_|mnt_)' || true)
check_eq "cvm-growroot: no undefined crypt_/Esys_/Tss2_/OpenSSL/fdisk_/blkid_/mnt_ symbols" "" "$undef"

# LAZY(LIB, type, symbol, ...) / LAZY_VOID(LIB, symbol, ...): LIB names
# an entry of the soname list. Every entry of the list is checked, and
# there must be as many as the wrappers the compiler made of it (hidden
# functions of the binary with these names).
declare -A soname_of=() exports=()
for i in "${!libs[@]}"; do soname_of[${libs[i]}]=${sonames[i]}; done
mapfile -t entries < <(sed -n \
        -e 's/^ *LAZY(\([A-Z0-9_]*\), [^,]*, \([A-Za-z0-9_]*\), .*/\1 \2/p' \
        -e 's/^ *LAZY_VOID(\([A-Z0-9_]*\), \([A-Za-z0-9_]*\), .*/\1 \2/p' "$src")
wrappers=$(nm "$CVM_GROWROOT" | awk '$2 == "t" || $2 == "T" { print $3 }')
n_wrapped=0
for e in "${entries[@]}"; do
        grep -qxF "${e#* }" <<<"$wrappers" && n_wrapped=$((n_wrapped + 1))
done
check_eq "every listed function is a wrapper in cvm-growroot" "${#entries[@]}" "$n_wrapped"
check "growroot-lazy.c lists more than 50 functions" test "${#entries[@]}" -gt 50
# Hidden: a library's own calls must never bind to a wrapper.
exported=$(nm -D --defined-only "$CVM_GROWROOT" | awk '{ print $3 }' | sed 's/@.*//' |
        grep -E '^(crypt_|Esys_|Tss2_|EVP_|OPENSSL_|RAND_|fdisk_|blkid_|mnt_)' || true)
check_eq "cvm-growroot exports none of the wrappers" "" "$exported"
for e in "${entries[@]}"; do
        lib=${e% *} sym=${e#* }
        so=${soname_of[$lib]:-unknown library $lib}
        if [ -z "${exports[$so]:-}" ]; then
                exports[$so]=$(nm -D --defined-only "${path_of[$lib]:-/nonexistent}" | awk '{ print $3 }' |
                        sed 's/@.*//')
        fi
        check "$sym: exported by $so" grep -qxF "$sym" <<<"${exports[$so]}"
done

check "cvm-growroot --version runs" eval '"$CVM_GROWROOT" --version >/dev/null'
check_done
