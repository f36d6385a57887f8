#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# `cvm-enroll firstboot` (what cvm-enroll-firstboot.service runs): on an
# image as CVM images ship (slot 0 = the image key, also in a legacy
# cloud-init key file), one process converts nothing, enrolls a TPM2
# token, proves it, wipes slot 0 and the key file, then writes the stamp.
# A rerun is a no-op that changes nothing. When a step fails (no key
# opens the volume) nothing is written: not the header, not the stamp.
# Slots, tokens and the unlock are read back with cryptsetup and
# systemd's token JSON, not with cvm-enroll.
set -eu -o pipefail
. "$(dirname "$0")/../lib/common.sh"
. "$CVM_SRCDIR/tests/lib/swtpm.sh"
. "$CVM_SRCDIR/tests/lib/luks.sh"

require_cmd swtpm cryptsetup
tmp=$(test_tmpdir)
at_exit rm -rf "$tmp"
swtpm_start_tcp "$tmp/tpm"

img=$tmp/disk.img
key=$tmp/image.key
keydata=$tmp/cc_growpart_keydata
stamp=$tmp/state/enrolled
mkdir -p "$tmp/state"
luks_passfile "$key"
luks_image "$img" "$key"
(umask 077 && printf '{"key": "%s", "slot": 0}\n' "$(base64 -w0 "$key")" >"$keydata")

rc=0
enroll firstboot --device="$img" --pcrs=7 --unlock-keydata="$keydata" --keydata="$keydata" \
        --stamp="$stamp" >"$tmp/err" 2>&1 || rc=$?
cat "$tmp/err"
check_eq "firstboot exits 0" 0 "$rc"
check_eq "slot 0 (the image key) wiped, one new slot left" 1 "$(luks_slots "$img")"
check_eq "one token left" 0 "$(luks_tokens "$img")"
check_eq "it is a systemd-tpm2 token for slot 1" "systemd-tpm2 1" \
        "$(cryptsetup token export --token-id 0 "$img" | py -c 'import json, sys; t = json.load(sys.stdin); print(t["type"], " ".join(t["keyslots"]))')"
check_fails "the image key opens nothing any more" luks_opens "$img" any "$key"
check "the legacy key file is gone" test ! -e "$keydata"
check "the stamp was written" test -f "$stamp"
# (stdout and stderr interleave in no fixed order: only that each ran)
for line in "No cvm-tpm2-import token" "Enrolled TPM2 token 0 (keyslot 1" "Wiped temporary keyslot 0"; do
        check "each step logged: $line" contains "$(cat "$tmp/err")" "$line"
done

echo "# rerun: already enrolled, nothing to wipe, nothing written"
before=$(luks_state "$img")
rm -f "$stamp"
rc=0
enroll firstboot --device="$img" --pcrs=7 --keydata="$keydata" --stamp="$stamp" >/dev/null 2>&1 || rc=$?
check_eq "rerun exits 0" 0 "$rc"
check_eq "rerun leaves the header as it was" "$before" "$(luks_state "$img")"
check "rerun writes the stamp again" test -f "$stamp"

echo "# a step fails: nothing written, no stamp"
img2=$tmp/disk2.img
luks_image "$img2" "$key"
luks_passfile "$tmp/wrong.key"
(umask 077 && printf '{"key": "%s", "slot": 0}\n' "$(base64 -w0 "$tmp/wrong.key")" >"$keydata")
before=$(luks_state "$img2")
rm -f "$stamp"
rc=0
enroll firstboot --device="$img2" --unlock-keydata="$keydata" --keydata="$keydata" --stamp="$stamp" \
        >/dev/null 2>&1 || rc=$?
check_eq "firstboot with a key that opens nothing exits 1" 1 "$rc"
check_eq "the header is unchanged" "$before" "$(luks_state "$img2")"
check "the key file is kept" test -f "$keydata"
check "no stamp" test ! -e "$stamp"

rc=0
enroll tpm2 --device="$img" --stamp="$stamp" >/dev/null 2>&1 || rc=$?
check_eq "--stamp= with another command is a usage error" 1 "$rc"

check_done
