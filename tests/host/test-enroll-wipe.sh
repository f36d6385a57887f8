#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Migrating a RHEL-CVM-style image away from its legacy keys: slot 0 = the
# build passphrase, slot 1 = the key in a cloud-init /cc_growpart_keydata
# file, slot 2 = a temporary TPM token. `wipe-temporary` must refuse until a
# non-temporary TPM token opens the volume; after `cvm-enroll tpm2` it wipes
# exactly slots 1 and 2, the temporary token and the key file (overwritten,
# then deleted), and keeps the new TPM slot and slot 0.
set -eu -o pipefail
. "$(dirname "$0")/../lib/common.sh"
. "$CVM_SRCDIR/tests/lib/swtpm.sh"
. "$CVM_SRCDIR/tests/lib/luks.sh"

require_cmd swtpm
tmp=$(test_tmpdir)
at_exit rm -rf "$tmp"
swtpm_start_tcp "$tmp/tpm"

# Token id → its JSON; the ids of tokens marked temporary.
token_json() {
        cryptsetup token export --token-id "$2" "$1"
}
temporary_tokens() {
        cryptsetup luksDump --dump-json-metadata "$1" | py -c 'import json, sys
t = json.load(sys.stdin)["tokens"]
print(" ".join(i for i in sorted(t, key=int) if t[i].get("cvm-temporary") is True))'
}

img=$tmp/disk.img
pass=$tmp/pass
mkdir -p "$tmp/root"
keydata=$tmp/root/cc_growpart_keydata
luks_passfile "$pass" "build passphrase"
luks_image "$img" "$pass"

# Slot 1: cloud-init's legacy key. The file holds base64 of the raw key
# bytes, and those bytes are the passphrase.
head -c 32 /dev/urandom >"$tmp/legacy.key"
cryptsetup luksAddKey -q --pbkdf pbkdf2 --pbkdf-force-iterations 1000 --key-file "$pass" --new-key-slot 1 \
        "$img" "$tmp/legacy.key"
(umask 077 && printf '{"key": "%s", "slot": 1}\n' "$(base64 -w0 "$tmp/legacy.key")" >"$keydata")
check "legacy key opens slot 1" luks_opens "$img" 1 "$tmp/legacy.key"

# Slot 2: the image builder's temporary TPM token.
out=$(enroll tpm2 --device="$img" --unlock-key-file="$pass" --temporary --json)
check_eq "temporary token enrolled in slot 2" 2 "$(json_field "$out" keyslot)"
check_eq "token marked temporary" "True" "$(json_field "$(token_json "$img" 0)" cvm-temporary)"

echo "# before any non-temporary TPM token: refuse, change nothing"
before=$(luks_state "$img")
keydata_before=$(sha256sum <"$keydata")
rc=0
err=$(enroll wipe-temporary --device="$img" --keydata="$keydata" 2>&1 >/dev/null) || rc=$?
echo "$err"
check_eq "wipe-temporary refuses with exit 1" 1 "$rc"
check "wipe-temporary says why" contains "$err" "No non-temporary TPM2 token opens"
check "wipe-temporary says what to do" contains "$err" "cvm-enroll tpm2"
check_eq "image unchanged" "$before" "$(luks_state "$img")"
check_eq "key file unchanged" "$keydata_before" "$(sha256sum <"$keydata")"

echo "# first boot: enroll with the legacy key, then wipe"
out=$(enroll tpm2 --device="$img" --unlock-keydata="$keydata" --json)
check_eq "new TPM token: changed" True "$(json_field "$out" changed)"
new_slot=$(json_field "$out" keyslot)
new_token=$(json_field "$out" token)
check_eq "new TPM token in slot 3" 3 "$new_slot"
check_eq "new token is not temporary" False "$(json_field "$out" temporary)"
check_eq "slots before the wipe" "0 1 2 3" "$(luks_slots "$img")"

# A second name for the key file's inode shows what the tool left in the
# file's blocks after it unlinked the name it was given.
ln "$keydata" "$tmp/keydata.inode"
size=$(stat -c %s "$keydata")
out=$(enroll wipe-temporary --device="$img" --keydata="$keydata" --json)
echo "$out"
check_eq "wipe: changed" True "$(json_field "$out" changed)"
check_eq "wipe: wiped the legacy and the temporary slot" "[1, 2]" "$(json_field "$out" wiped_keyslots)"
check_eq "wipe: key file destroyed" True "$(json_field "$out" keydata_destroyed)"
check_eq "slots left: build passphrase and new TPM slot" "0 $new_slot" "$(luks_slots "$img")"
check_eq "tokens left: the new one" "$new_token" "$(luks_tokens "$img")"
check_eq "no temporary token left" "" "$(temporary_tokens "$img")"
check_eq "remaining token names the new slot" "['$new_slot']" \
        "$(json_field "$(token_json "$img" "$new_token")" keyslots)"
check_fails "key file deleted" test -e "$keydata"
nonzero=$(tr -d '\0' <"$tmp/keydata.inode" | wc -c)
check_eq "key file overwritten with zeros before the unlink" "$size bytes, 0 not zero" \
        "$(stat -c %s "$tmp/keydata.inode") bytes, $nonzero not zero"
check_fails "legacy key opens nothing" luks_opens "$img" any "$tmp/legacy.key"
check "build passphrase still opens slot 0" luks_opens "$img" 0 "$pass"
check "remaining TPM token opens the volume" enroll check --device="$img"

echo "# rerun: nothing to do"
before=$(luks_state "$img")
out=$(enroll wipe-temporary --device="$img" --keydata="$keydata" --json)
check_eq "rerun: changed" False "$(json_field "$out" changed)"
check_eq "rerun: nothing wiped" "[]" "$(json_field "$out" wiped_keyslots)"
check_eq "rerun: image unchanged" "$before" "$(luks_state "$img")"
out=$(enroll wipe-temporary --device="$img" --keydata="$keydata")
check "rerun (text): says nothing to do" contains "$out" "nothing to do"

check_done
