#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The first boot's TPM jobs when the TPM or the machine is not as they
# expect: no TPM at all, a TPM in dictionary-attack lockout, a full /run,
# a read-only LUKS2 device (enroll's writes).
# Each command must fail with its documented exit status (1) and one line on
# stderr that says what is wrong, change nothing on the volume (byte-equal
# image and header), and the key that opened the volume before must still
# open it. (PCRs changed: test-enroll-pcr-change; read-only and shrunk
# disks: test-growroot-bad; power cuts: test-enroll-crash and the vm tier.)
set -eu -o pipefail
. "$(dirname "$0")/../lib/common.sh"
. "$CVM_SRCDIR/tests/lib/swtpm.sh"
. "$CVM_SRCDIR/tests/lib/luks.sh"
. "$CVM_SRCDIR/tests/lib/disk.sh"

require_root
require_cmd swtpm tpm2_dictionarylockout tpm2_unseal ssh-keygen
tmp=$(test_tmpdir)
at_exit rm -rf "$tmp"

pass=$tmp/pass
luks_passfile "$pass" "build passphrase"
mkdir -p "$tmp/ssh"
ssh-keygen -q -t ed25519 -N '' -C '' -f "$tmp/ssh/ssh_host_ed25519_key"

# refuses NAME PHRASE CMD...: CMD exits 1 with one stderr line containing
# PHRASE; with FIRST_WORDS=1, the line (after "cvm-tool: ") starts with it.
refuses() {
        local name=$1 phrase=$2 rc=0 err
        shift 2
        err=$("$@" 2>&1 >/dev/null) || rc=$?
        echo "# $name: exit $rc: $err"
        check_eq "$name: exit status 1" 1 "$rc"
        check_eq "$name: one line on stderr" 1 "$(printf '%s\n' "$err" | grep -c .)"
        check "$name: says '$phrase'" contains "$err" "$phrase"
        if [ "${FIRST_WORDS:-0}" = 1 ]; then
                check_eq "$name: begins with '$phrase'" "$phrase" "$(printf '%s' "${err#cvm-*: }" | head -c ${#phrase})"
        fi
}

# scenario NAME TPM PHRASE-TPM2 PHRASE-CHECK PHRASE-WIPE PHRASE-AUTHCHECK:
# the four first-boot TPM jobs against TPM on an image with the build
# passphrase and a TPM2 token made on a healthy TPM. Run with -q, as a
# failure must be one error line (info lines about each token are not
# errors).
scenario() {
        local name=$1 dev=$2 img=$tmp/$1.img before
        luks_image "$img" "$pass"
        "$CVM_ENROLL" --tpm2-device="$GOOD_TCTI" tpm2 --device="$img" --unlock-key-file="$pass" --pcrs=7 \
                >/dev/null
        before=$(luks_state "$img")

        refuses "$name: enroll tpm2" "$3" \
                "$CVM_ENROLL" -q --tpm2-device="$dev" tpm2 --device="$img" --unlock-key-file="$pass" --pcrs=0
        refuses "$name: enroll check" "$4" \
                "$CVM_ENROLL" -q --tpm2-device="$dev" check --device="$img"
        refuses "$name: enroll wipe-temporary" "$5" \
                "$CVM_ENROLL" -q --tpm2-device="$dev" wipe-temporary --device="$img" --keydata="$tmp/none"
        check_eq "$name: volume unchanged" "$before" "$(luks_state "$img")"
        check "$name: the build passphrase still opens the volume" luks_opens "$img" 0 "$pass"

        refuses "$name: authcheck" "$6" \
                "$CVM_AUTHCHECK" -q --tpm2-device="$dev" --host-keys-dir="$tmp/ssh" --runtime-dir="$tmp/run-$name" \
                --no-console
        check_fails "$name: authcheck wrote no evidence" test -e "$tmp/run-$name/evidence.json"
}

# The healthy TPM that made the tokens.
swtpm_start_tcp "$tmp/good"
GOOD_TCTI=$SWTPM_TCTI

# --- no TPM. Nothing listens where the TPM should be: it is unreachable
# (EHOSTDOWN). No device node, named as a path or in a device TCTI's
# configuration: there is no TPM (ENODEV), and the line says which node is
# missing. The same exit status 1 either way (cvm-enroll(8),
# cvm-authcheck(8)).
port=$((SWTPM_PORT + 4))
tcti="swtpm:host=127.0.0.1,port=$port"
nt="Failed to open the TPM through '$tcti': Host is down"
FIRST_WORDS=1 scenario no-tpm-tcti "$tcti" "$nt" "$nt" "$nt, refusing to wipe anything" "$nt"
nt="No TPM 2.0 device found (/dev/tpmrm-none missing)"
FIRST_WORDS=1 scenario no-tpm-device /dev/tpmrm-none "$nt" "$nt" "$nt, refusing to wipe anything" "$nt"
nt="No TPM 2.0 device found (/dev/tpm-none7 missing)"
FIRST_WORDS=1 scenario no-tpm-device-tcti device:/dev/tpm-none7 "$nt" "$nt" "$nt, refusing to wipe anything" "$nt"

# --- lockout: one failed authorization of a DA-protected object with
# maxTries 1 puts the TPM in lockout for 10 minutes (tpm2-tools alone,
# swtpm_lockout).
swtpm_start_tcp "$tmp/locked"
LOCKED_TCTI=$SWTPM_TCTI
check "the TPM is in lockout (tpm2_getcap inLockout)" swtpm_lockout "$tmp/lockout-ctx"
# The healthy TPM's token does not load here anyway; a token of this TPM,
# sealed before the lockout, must then fail because of the lockout and say so.
lo="dictionary-attack lockout"
scenario lockout "$LOCKED_TCTI" "$lo" "No TPM2 token opens" "No non-temporary TPM2 token opens" "$lo"
img=$tmp/lockout-own.img
luks_image "$img" "$pass"
swtpm_start_tcp "$tmp/locked2"
L2=$SWTPM_TCTI
"$CVM_ENROLL" --tpm2-device="$L2" tpm2 --device="$img" --unlock-key-file="$pass" --pcrs=7 >/dev/null
check "own token: the TPM is in lockout (tpm2_getcap inLockout)" swtpm_lockout "$tmp/lockout-ctx2"
before=$(luks_state "$img")
out=$("$CVM_ENROLL" -q --tpm2-device="$L2" check --device="$img" 2>&1) && rc=0 || rc=$?
echo "# own token, TPM in lockout: exit $rc: $out"
check_eq "own token, TPM in lockout: check exit 1" 1 "$rc"
check "own token, TPM in lockout: check names the lockout" contains "$out" "dictionary-attack lockout"
check_eq "own token, TPM in lockout: volume unchanged" "$before" "$(luks_state "$img")"
check "own token, TPM in lockout: the build passphrase still opens the volume" luks_opens "$img" 0 "$pass"

# --- a full /run: the evidence cannot be written. No partial file is left
# (the write is atomic), and the failure names the file.
swtpm_start_tcp "$tmp/run-tpm"
mkdir -p "$tmp/fullrun"
mount -t tmpfs -o size=16k,mode=0755 cvm-test-fullrun "$tmp/fullrun"
at_exit umount "$tmp/fullrun"
head -c 16k /dev/zero >"$tmp/fullrun/filler" 2>/dev/null || true
refuses "full /run: authcheck" "No space left on device" \
        "$CVM_AUTHCHECK" -q --tpm2-device="$SWTPM_TCTI" --host-keys-dir="$tmp/ssh" --runtime-dir="$tmp/fullrun/cvm-authcheck" \
        --no-console
check_eq "full /run: no evidence file, no temporary left" "filler" "$(cd "$tmp/fullrun" && find . -type f | sed 's|^\./||' | tr '\n' ' ' | sed 's/ $//')"

# --- a read-only device (losetup -r): every step that would write the
# header says so before it unseals or unlocks anything; the volume is
# byte-identical. A step with nothing to write still succeeds.
swtpm_start_tcp "$tmp/ro-tpm"
img=$tmp/ro.img
luks_image "$img" "$pass"
"$CVM_ENROLL" --tpm2-device="$SWTPM_TCTI" tpm2 --device="$img" --unlock-key-file="$pass" --pcrs=7 --temporary \
        >/dev/null
before=$(luks_state "$img")
loop_attach "$img" -r
ro="is read-only"
refuses "read-only: enroll tpm2" "$ro; cannot add a keyslot" \
        "$CVM_ENROLL" -q --tpm2-device="$SWTPM_TCTI" tpm2 --device="$LOOP" --unlock-key-file="$pass" --pcrs=0
check "read-only: enroll check (writes nothing) passes" \
        "$CVM_ENROLL" -q --tpm2-device="$SWTPM_TCTI" check --device="$LOOP"
check "read-only: convert-import with nothing to convert passes" \
        "$CVM_ENROLL" -q --tpm2-device="$SWTPM_TCTI" convert-import --device="$LOOP"
check_eq "read-only: volume unchanged" "$before" "$(luks_state "$img")"
loop_release "$LOOP" "$img"
# wipe-temporary needs a permanent token before it would wipe anything.
"$CVM_ENROLL" --tpm2-device="$SWTPM_TCTI" tpm2 --device="$img" --unlock-key-file="$pass" --pcrs=0 >/dev/null
before=$(luks_state "$img")
loop_attach "$img" -r
refuses "read-only: enroll wipe-temporary" "$ro; cannot wipe temporary keyslots" \
        "$CVM_ENROLL" -q --tpm2-device="$SWTPM_TCTI" wipe-temporary --device="$LOOP" --keydata="$tmp/none"
check_eq "read-only: volume unchanged by wipe-temporary" "$before" "$(luks_state "$img")"
check "read-only: the build passphrase still opens the volume" luks_opens "$img" 0 "$pass"
loop_release "$LOOP" "$img"
check_done
