#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Hostile systemd-tpm2 tokens (tests/generators/hostile-tokens.py) against
# `cvm-enroll check` and `status`. The host controls the disk, so every
# token byte is attacker-chosen. For each case, imported with `cryptsetup
# token import` into a copy of an enrolled image:
#  - alone (the good token removed): check exits 1 with a one-line reason
#    naming the token, status reports it as invalid or failing; no crash
#    (exit < 128, no sanitizer report, no abort) and not one byte written;
#  - next to the good token: the good one still opens (a hostile token
#    must not stop the others from being tried), the hostile one does not.
# Set CVM_ENROLL to an ASan/UBSan build to run the same cases under it.
set -eu -o pipefail
. "$(dirname "$0")/../lib/common.sh"
. "$CVM_SRCDIR/tests/lib/swtpm.sh"
. "$CVM_SRCDIR/tests/lib/luks.sh"

require_cmd swtpm tpm2_pcrextend
tmp=$(test_tmpdir)
at_exit rm -rf "$tmp"
swtpm_start_tcp "$tmp/tpm"
tpm2_pcrextend "4:sha256=$(printf 'shim' | sha256sum | cut -d' ' -f1)" \
        "7:sha256=$(printf 'secureboot' | sha256sum | cut -d' ' -f1)"

pass=$tmp/pass
luks_passfile "$pass" "build passphrase"
# Room in the JSON area for the huge cases (a 96 KiB blob is 128 KiB of
# base64), and a small image: each case copies it twice.
base=$tmp/base.img
LUKS_IMAGE_SIZE=4M luks_image "$base" "$pass" --luks2-metadata-size 256k --luks2-keyslots-size 2m
enroll tpm2 --device="$base" --unlock-key-file="$pass" >/dev/null
cryptsetup token export --token-id 0 "$base" >"$tmp/good.json"
cp "$base" "$tmp/other.img"
enroll tpm2 --device="$tmp/other.img" --unlock-key-file="$pass" --pcrs=4+7 --json >"$tmp/other.out"
cryptsetup token export --token-id "$(json_field "$(cat "$tmp/other.out")" token)" "$tmp/other.img" \
        >"$tmp/other.json"
cp "$base" "$tmp/alone.img"
cryptsetup token remove --token-id 0 "$tmp/alone.img"

n=$(py "$CVM_SRCDIR/tests/generators/hostile-tokens.py" "$tmp/good.json" "$tmp/other.json" "$tmp/cases")
echo "# $n generated cases"

crashed() {
        local rc=$1 err=$2
        [ "$rc" -ge 128 ] && return 0
        grep -E 'AddressSanitizer|LeakSanitizer|runtime error:|Assertion|Aborted|core dumped' \
                <<<"$err" >/dev/null
}
# The reason for token 0 on one line: "token 0…: unusable: WHY." or "token
# 0 (…): does not open the volume: WHY.", or, for a token that is not of
# type systemd-tpm2 at all, the error that the volume has none.
one_line_reason() {
        local out=$1 err=$2
        if [ -z "$out" ]; then
                contains "$err" "has no systemd-tpm2 token"
                return
        fi
        [ "$(wc -l <<<"$out")" = 1 ] &&
                grep -E '^token 0\b.*: (unusable|does not open the volume): .{8,}\.$' <<<"$out" >/dev/null
}
# Only cvm-enroll's own messages on stderr (no library noise), one line.
clean_stderr() {
        local err=$1
        [ "$(wc -l <<<"$err")" = 1 ] && grep -E '^cvm-enroll: ' <<<"$err" >/dev/null
}
token_state() {
        py -c 'import json, sys
for t in json.loads(sys.argv[1])["tokens"]:
    if t["token"] == int(sys.argv[2]):
        print(t["state"])' "$1" "$2"
}

reached=0
refused=0
while IFS=$'\t' read -r id expect name why; do
        json=$tmp/cases/$id.json
        img=$tmp/case.img

        # --- alone --------------------------------------------------------------
        cp "$tmp/alone.img" "$img"
        # Without systemd's token plugin, which would otherwise validate (and
        # refuse) most cases itself: what reaches the header is then only
        # limited by libcryptsetup's own checks, as on an attacker's disk.
        if ! cryptsetup token import --disable-external-tokens --json-file "$json" "$img" \
                2>"$tmp/import.err"; then
                if [ "$expect" = refused ]; then
                        ok "$name: cryptsetup refuses the import ($(head -1 "$tmp/import.err"))"
                        refused=$((refused + 1))
                else
                        not_ok "$name: cryptsetup refused the import: $(cat "$tmp/import.err")"
                fi
                continue
        fi
        [ "$expect" = refused ] && expect=unusable
        reached=$((reached + 1))
        before=$(sha256sum <"$img")

        rc=0
        out=$(enroll check --device="$img" 2>"$tmp/err") || rc=$?
        err=$(cat "$tmp/err")
        check_fails "$name: check does not crash (rc=$rc)" crashed "$rc" "$err"
        if [ "$expect" = opens ]; then
                check_eq "$name (control): check passes" 0 "$rc"
                check "$name (control): token opens" contains "$out" "opens the volume"
        else
                echo "# $name: ${out:-$err}"
                check_eq "$name ($why): check exits 1" 1 "$rc"
                check "$name: check gives a one-line reason" one_line_reason "$out" "$err"
                check "$name: no library noise on stderr" clean_stderr "$err"
        fi

        rc=0
        out=$(enroll status --device="$img" --json 2>"$tmp/err") || rc=$?
        err=$(cat "$tmp/err")
        check_fails "$name: status does not crash (rc=$rc)" crashed "$rc" "$err"
        check_eq "$name: status succeeds" 0 "$rc"
        state=$(token_state "$out" 0)
        if [ "$expect" = opens ]; then
                check_eq "$name (control): status says it opens" opens "$state"
        elif [ -n "$state" ]; then
                check "$name: status reports it invalid or failing (got '$state')" \
                        test "$state" = invalid -o "$state" = fails
        fi
        check_eq "$name: image byte-identical" "$before" "$(sha256sum <"$img")"

        # --- next to the good token --------------------------------------------
        cp "$base" "$img"
        cryptsetup token import --disable-external-tokens --json-file "$json" --token-id 1 "$img"
        before=$(sha256sum <"$img")
        rc=0
        out=$(enroll check --device="$img" --json 2>"$tmp/err") || rc=$?
        err=$(cat "$tmp/err")
        check_fails "$name, with the good token: check does not crash (rc=$rc)" crashed "$rc" "$err"
        check_eq "$name, with the good token: check passes" 0 "$rc"
        check_eq "$name, with the good token: the good token opens" opens "$(token_state "$out" 0)"
        if [ "$expect" != opens ] && [ -n "$(token_state "$out" 1)" ]; then
                check_fails "$name, with the good token: the hostile one does not open" \
                        test "$(token_state "$out" 1)" = opens
        fi
        check_eq "$name, with the good token: image byte-identical" "$before" "$(sha256sum <"$img")"
done <"$tmp/cases/cases.tsv"

echo "hostile cases: $n ($reached reached cvm-enroll, $refused refused by cryptsetup token import)"
check "at least 30 hostile cases reach cvm-enroll" test "$reached" -ge 30
check_done
