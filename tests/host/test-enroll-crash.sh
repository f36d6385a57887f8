#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Crash safety of cvm-enroll: for every CVM_TEST_ABORT_AT point compiled
# into the binary (lib/test-hook.h: _exit at a step boundary, no cleanup,
# like a power cut as far as the disk is concerned), kill the command
# there, prove a key still opens the volume, then rerun without the hook
# and prove the job got finished. tpm2:keyslot-added also fires inside
# reseal (same enroll code), which the tpm2 scenario covers.
#
# The points are read from the source (every test_hook("…") in enroll/ and
# lib/ whose string is in the cvm-enroll binary), so a new point is tested
# as soon as it exists, or fails this test until it gets a scenario here.
set -eu -o pipefail
. "$(dirname "$0")/../lib/common.sh"
. "$CVM_SRCDIR/tests/lib/swtpm.sh"
. "$CVM_SRCDIR/tests/lib/luks.sh"

require_cmd swtpm
grep -aF CVM_TEST_ABORT_AT "$CVM_ENROLL_REAL" >/dev/null || skip "cvm-enroll built without -Dtest-hooks=true"

points=()
while read -r p; do
        if grep -aF -e "$p" "$CVM_ENROLL_REAL" >/dev/null; then
                points+=("$p")
        else
                echo "# abort point '$p' is not in cvm-enroll (another tool's), not tested here"
        fi
done < <(grep -rhoE --include='*.c' 'test_hook\("[^"]+"\)' "$CVM_SRCDIR/enroll" "$CVM_SRCDIR/lib" |
        sed -E 's/^test_hook\("(.*)"\)$/\1/' | sort -u)
echo "# abort points: ${points[*]}"
# Guard the discovery itself: these are known to exist.
for p in tpm2:unlocked tpm2:keyslot-added tpm2:token-added wipe:token-removed wipe:slot-destroyed; do
        check "abort point $p found in the source" contains "$(printf '%s\n' "${points[@]}")" "$p"
done

tmp=$(test_tmpdir)
at_exit rm -rf "$tmp"
swtpm_start_tcp "$tmp/tpm"

pass=$tmp/pass
luks_passfile "$pass" "build passphrase"
head -c 32 /dev/urandom >"$tmp/legacy.key"

temporary_tokens() {
        cryptsetup luksDump --dump-json-metadata "$1" | py -c 'import json, sys
t = json.load(sys.stdin)["tokens"]
print(" ".join(i for i in sorted(t, key=int) if t[i].get("cvm-temporary") is True))'
}
# run_hooked NAME POINT CMD...: CMD must die at POINT (exit 134 from the
# hook, and its message), not earlier, not later, not at all.
run_hooked() {
        local name=$1 point=$2 rc=0
        shift 2
        CVM_TEST_ABORT_AT=$point "$@" >"$tmp/hooked.log" 2>&1 || rc=$?
        check_eq "$name: died at the hook (exit 134)" 134 "$rc"
        check "$name: the hook reported '$point'" contains "$(cat "$tmp/hooked.log")" "aborting at '$point'"
}

header_loads() {
        cryptsetup luksDump "$1" >/dev/null
}

runs=0

# cvm-enroll tpm2 on an image whose only key is the build passphrase.
scenario_tpm2() {
        local point=$1 name="$1" img=$tmp/tpm2.img out
        luks_image "$img" "$pass"
        run_hooked "$name" "$point" enroll tpm2 --device="$img" --unlock-key-file="$pass"
        check "$name: header still loads" header_loads "$img"
        check "$name: build passphrase still opens slot 0" luks_opens "$img" 0 "$pass"

        check "$name: rerun succeeds" enroll tpm2 --device="$img" --unlock-key-file="$pass"
        check "$name: after the rerun a TPM token opens the volume" enroll check --device="$img"
        check_eq "$name: after the rerun exactly one token" 1 "$(wc -w <<<"$(luks_tokens "$img")")"
        out=$(enroll tpm2 --device="$img" --unlock-key-file="$pass" --json || true)
        check_eq "$name: a third run is a no-op" False "$(json_field "$out" changed)"
        runs=$((runs + 1))
}

# wipe-temporary on a migrated image: slot 0 build passphrase, a legacy
# keydata slot and a temporary TPM slot (in the ORDER given, so both kinds
# are the first slot wiped in one variant), slot 3 a permanent TPM token.
scenario_wipe() {
        local point=$1 order=$2 name="$1 ($2 first)" img=$tmp/wipe.img keydata=$tmp/keydata out k
        luks_image "$img" "$pass"
        for k in ${order/-/ }; do
                case $k in
                keydata)
                        cryptsetup luksAddKey -q --pbkdf pbkdf2 --pbkdf-force-iterations 1000 \
                                --key-file "$pass" "$img" "$tmp/legacy.key"
                        printf '{"key": "%s", "slot": %s}\n' "$(base64 -w0 "$tmp/legacy.key")" \
                                "$(luks_slots "$img" | awk '{ print $NF }')" >"$keydata"
                        ;;
                temporary)
                        enroll tpm2 --device="$img" --unlock-key-file="$pass" --temporary >/dev/null ;;
                esac
        done
        enroll tpm2 --device="$img" --unlock-key-file="$pass" >/dev/null
        [ "$(luks_slots "$img")" = "0 1 2 3" ] || die "scenario setup: slots $(luks_slots "$img")"

        run_hooked "$name" "$point" enroll wipe-temporary --device="$img" --keydata="$keydata"
        check "$name: header still loads" header_loads "$img"
        check "$name: the permanent TPM token still opens" enroll check --device="$img"
        check "$name: build passphrase still opens slot 0" luks_opens "$img" 0 "$pass"

        check "$name: rerun succeeds" enroll wipe-temporary --device="$img" --keydata="$keydata"
        check_eq "$name: temporary slots gone after the rerun" "0 3" "$(luks_slots "$img")"
        check_eq "$name: temporary token gone after the rerun" "" "$(temporary_tokens "$img")"
        check_eq "$name: one token left" 1 "$(wc -w <<<"$(luks_tokens "$img")")"
        check_fails "$name: key file gone after the rerun" test -e "$keydata"
        check "$name: the permanent TPM token opens after the rerun" enroll check --device="$img"
        out=$(enroll wipe-temporary --device="$img" --keydata="$keydata" --json || true)
        check_eq "$name: a third run is a no-op" False "$(json_field "$out" changed)"
        runs=$((runs + 1))
}

# reseal and reseal --finalize: token 0 sealed to the current PCR 7, token 1
# resealed (--pcr-values) to what PCR 7 becomes after one more extend.
pcr7() {
        tpm2_pcrread sha256:7 | awk '$1 == "7" { print tolower(substr($3, 3)) }'
}
pcr7_after_extend() {
        py -c 'import hashlib, sys; print(hashlib.sha256(bytes.fromhex(sys.argv[1]) + bytes.fromhex(sys.argv[2])).hexdigest())' \
                "$(pcr7)" "$reseal_digest"
}
reseal_digest=$(printf 'cvm crash test' | sha256sum | cut -d' ' -f1)

scenario_reseal() {
        local point=$1 name="$1 (reseal)" img=$tmp/reseal.img after out
        luks_image "$img" "$pass"
        enroll tpm2 --device="$img" --unlock-key-file="$pass" >/dev/null
        after=$(pcr7_after_extend)
        run_hooked "$name" "$point" enroll reseal --device="$img" --pcrs=7 --pcr-values="7=$after"
        check "$name: header still loads" header_loads "$img"
        check "$name: token 0 still opens" enroll check --device="$img"
        check "$name: rerun succeeds" enroll reseal --device="$img" --pcrs=7 --pcr-values="7=$after"
        out=$(enroll reseal --device="$img" --pcrs=7 --pcr-values="7=$after" --json=short || true)
        check_eq "$name: a third run is a no-op" False "$(json_field "$out" changed)"
        runs=$((runs + 1))
}

scenario_finalize() {
        local point=$1 name="$1 (finalize)" img=$tmp/finalize.img after
        luks_image "$img" "$pass"
        enroll tpm2 --device="$img" --unlock-key-file="$pass" >/dev/null
        after=$(pcr7_after_extend)
        enroll reseal --device="$img" --pcrs=7 --pcr-values="7=$after" >/dev/null
        tpm2_pcrextend "7:sha256=$reseal_digest"
        run_hooked "$name" "$point" enroll reseal --finalize --device="$img"
        check "$name: header still loads" header_loads "$img"
        check "$name: a TPM token still opens" enroll check --device="$img"
        check "$name: rerun succeeds" enroll reseal --finalize --device="$img"
        check_eq "$name: only the resealed token is left" 1 "$(luks_tokens "$img")"
        check_eq "$name: slots: the passphrase and the resealed token's" "0 2" "$(luks_slots "$img")"
        check "$name: it opens" enroll check --device="$img"
        check_fails "$name: it is no longer pending" contains \
                "$(cryptsetup token export --token-id 1 "$img")" cvm-reseal-pending
        check "$name: a third run is a no-op" contains "$(enroll reseal --finalize --device="$img")" "nothing to do"
        runs=$((runs + 1))
}

for p in "${points[@]}"; do
        echo "# abort point $p"
        case $p in
        tpm2:*)
                scenario_tpm2 "$p" ;;
        reseal:*)
                scenario_reseal "$p" ;;
        finalize:*)
                scenario_finalize "$p" ;;
        wipe:*)
                scenario_wipe "$p" keydata-temporary
                scenario_wipe "$p" temporary-keydata
                ;;
        seal-offline:* | convert-import:*)
                # These need two TPMs and an offline-sealed image: their
                # crash scenarios live in test-enroll-import.sh, part (g).
                check "$p: has a crash scenario in test-enroll-import.sh" \
                        grep -F -e "$p" "$CVM_SRCDIR/tests/host/test-enroll-import.sh" ;;
        *)
                not_ok "abort point '$p' has no crash scenario in $(basename "$0"): add one" ;;
        esac
done

echo "abort points tested: ${#points[@]} ($runs crash runs)"
check_done
