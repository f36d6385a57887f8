#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# PCR 7 changes after enrollment (new Secure Boot db, another shim): `check`
# must fail and say PCR 7 is why, and `wipe-temporary` must refuse and
# write nothing, because the temporary slots and the legacy key file are
# then the only keys left that open the volume.
set -eu -o pipefail
. "$(dirname "$0")/../lib/common.sh"
. "$CVM_SRCDIR/tests/lib/swtpm.sh"
. "$CVM_SRCDIR/tests/lib/luks.sh"

require_cmd swtpm tpm2_pcrextend
tmp=$(test_tmpdir)
at_exit rm -rf "$tmp"
swtpm_start_tcp "$tmp/tpm"

img=$tmp/disk.img
pass=$tmp/pass
keydata=$tmp/cc_growpart_keydata
luks_passfile "$pass" "build passphrase"
luks_image "$img" "$pass"

# The image as it leaves the builder: a temporary TPM token and a legacy
# key file for slot 2, and then the first boot's permanent enrollment.
enroll tpm2 --device="$img" --unlock-key-file="$pass" --temporary >/dev/null
head -c 32 /dev/urandom >"$tmp/legacy.key"
cryptsetup luksAddKey -q --pbkdf pbkdf2 --pbkdf-force-iterations 1000 --key-file "$pass" --new-key-slot 2 \
        "$img" "$tmp/legacy.key"
printf '{"key": "%s", "slot": 2}\n' "$(base64 -w0 "$tmp/legacy.key")" >"$keydata"
enroll tpm2 --device="$img" --unlock-key-file="$pass" >/dev/null
check_eq "keyslots after enrollment" "0 1 2 3" "$(luks_slots "$img")"

out=$(enroll check --device="$img" 2>&1)
check "check passes before the PCR change" enroll check --device="$img"
check_eq "both tokens open before the PCR change" 2 "$(grep -c "opens the volume" <<<"$out")"

tpm2_pcrextend "7:sha256=$(printf 'new db entry' | sha256sum | cut -d' ' -f1)"

rc=0
out=$(enroll check --device="$img" 2>&1) || rc=$?
echo "$out"
check "check fails after PCR 7 changed" test "$rc" -ne 0
check "check exits 1, not a crash" test "$rc" -eq 1
check "check names PCR 7" contains "$out" "PCRs 7"
check "check says the PCR values changed" contains "$out" "current PCR values differ"
check_fails "check reports no token as opening" contains "$out" "opens the volume"

out=$(enroll check --device="$img" --json 2>/dev/null || true)
check_eq "check --json: ok is false" False "$(json_field "$out" ok)"
check_eq "check --json: policy does not match the current PCRs" "False False" \
        "$(py -c 'import json, sys
print(" ".join(str(t["policy_matches_current_pcrs"]) for t in json.loads(sys.argv[1])["tokens"]))' "$out")"

before=$(luks_state "$img")
keydata_before=$(sha256sum <"$keydata")
rc=0
err=$(enroll wipe-temporary --device="$img" --keydata="$keydata" 2>&1 >/dev/null) || rc=$?
echo "$err"
check "wipe-temporary refuses after PCR 7 changed" test "$rc" -ne 0
check "wipe-temporary exits 1, not a crash" test "$rc" -eq 1
check "wipe-temporary says why it refuses" contains "$err" "refusing to wipe"
check_eq "luksDump and image sha256 unchanged" "$before" "$(luks_state "$img")"
check "legacy key file still there" test -f "$keydata"
check_eq "legacy key file unchanged" "$keydata_before" "$(sha256sum <"$keydata")"
check "build passphrase still opens slot 0" luks_opens "$img" 0 "$pass"
check "legacy key still opens slot 2" luks_opens "$img" 2 "$tmp/legacy.key"

check_done
