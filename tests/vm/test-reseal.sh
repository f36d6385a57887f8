#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# vm tier: resealing for a boot file update (cvm-enroll reseal, issue #6).
# The LUKS2 image is pre-encrypted on the host: `cvm-enroll seal-offline`
# seals its key to the SRK public key of the VM's swtpm and to PCR 11 as
# predicted for UKI a (no TPM needed). OVMF with Secure Boot boots signed
# UKI a; the guest's first step, `convert-import`, unlocks through that
# import token and turns it into a systemd-tpm2 token (token 0); then it
# runs `cvm-enroll reseal --pcrs=4+7+11 --replace a.efi=b.efi`
# for UKI b, which differs only in its command line: reseal replays the
# firmware's event log (it must reproduce the TPM's PCRs), swaps a's
# Authenticode digest for b's in PCR 4 and computes PCR 11 from b's
# sections as systemd-stub measures them, and seals a second token to that.
# Then b boots: the first token (what "no reseal" leaves) must not unseal,
# the second must open the volume, the PCRs the guest reads must equal the
# prediction (printed side by side), and `reseal --finalize` must remove
# the first token and nothing else.
# Independent checks on the host: tpm2_eventlog's replay of the captured
# log equals the TPM's PCRs, osslsigncode's Authenticode digest of a.efi is
# the digest OVMF logged for it, and a Python model of systemd-stub from the
# sections objcopy extracts gives the PCR 11 values.
set -eu -o pipefail
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/swtpm.sh"
. "$(dirname "$0")/lib/vm.sh"

vm_setup
require_cmd osslsigncode tpm2_eventlog objcopy tpm2_createprimary tpm2_readpublic

cat >"$VM_TMP/scenario.sh" <<'GUEST'
variant=$(cmdline_arg cvm.variant)
dev=/dev/vda
mkdir -p /files
tar -xf /dev/vdb -C /files
mount -t securityfs securityfs /sys/kernel/security
evlog=/sys/kernel/security/tpm0/binary_bios_measurements
check "the firmware's event log is readable" test -r "$evlog"
for i in 4 7 11; do
        echo "cvm-pcr$i $(tr A-F a-f </sys/class/tpm/tpm0/pcr-sha256/$i)"
done
echo "cvm-eventlog $(base64 "$evlog" | tr -d '\n')"

# PCR table lines of reseal's output: "IDX CURRENT PREDICTED [(changes)]".
predicted() {
        awk '$1 ~ /^[0-9]+$/ { print "cvm-predicted" $1, $3 } $1 ~ /^[0-9]+$/ && $4 == "(changes)" { print "cvm-changes", $1 }'
}

case $variant in
a)
        # The image was sealed offline on the host to this TPM's SRK and to
        # PCR 11 as predicted for UKI a: the first boot unlocks through the
        # import token and converts it (token 0, PCR 11).
        check "first boot: convert-import converts the offline-sealed token" \
                cvm-enroll convert-import --device $dev
        check "the converted token opens the volume" cvm-enroll check --device $dev
        # Predicting the running UKI must give the current PCRs: the log
        # replays to the TPM's values and the stub model reproduces PCR 11.
        cvm-enroll reseal --device $dev --pcrs 4+7+11 --replace /files/a.efi=/files/a.efi --dry-run \
                >/tmp/same.txt 2>&1 || :
        cat /tmp/same.txt
        check "prediction for the running UKI succeeds" grep '^Dry run' /tmp/same.txt
        check_fails "prediction for the running UKI changes nothing" grep 'changes' /tmp/same.txt
        check_fails "a boot file that did not start is refused" \
                cvm-enroll reseal --device $dev --pcrs 4 --replace /files/b.efi=/files/a.efi --dry-run
        check_fails "PCR 9 is not predicted" \
                cvm-enroll reseal --device $dev --pcrs 4+9 --replace /files/a.efi=/files/b.efi --dry-run
        cvm-enroll reseal --device $dev --pcrs 4+7+11 --replace /files/a.efi=/files/b.efi >/tmp/reseal.txt 2>&1
        echo "cvm-reseal-status $?"
        cat /tmp/reseal.txt
        predicted </tmp/reseal.txt
        check "reseal added token 1" grep 'Added TPM2 token 1 ' /tmp/reseal.txt
        check "reseal again: nothing to do" sh -c \
                "cvm-enroll reseal --device $dev --pcrs 4+7+11 --replace /files/a.efi=/files/b.efi | grep 'nothing to do'"
        # The unit runs finalize at every boot: before the update it must
        # leave both tokens (token 1 is pending, token 0 still current).
        check "finalize before the update removes nothing" sh -c \
                "cvm-enroll reseal --finalize --device $dev | grep 'nothing to do'"
        check "both tokens are still there" sh -c \
                "cvm-enroll status --device $dev | grep -c '^token [01] ' | grep -x 2"
        ;;
b)
        cvm-enroll check --device $dev >/tmp/check.txt 2>&1 || :
        cat /tmp/check.txt
        check "without reseal, the first token does not unseal after the update" \
                grep '^token 0 .*does not open the volume: the current PCR values differ' /tmp/check.txt
        check "the resealed token opens the volume" grep '^token 1 .*opens the volume' /tmp/check.txt
        check "cvm-enroll check passes" cvm-enroll check --device $dev
        cvm-enroll reseal --finalize --device $dev --json=short >/tmp/final.json 2>&1 || :
        cat /tmp/final.json
        check "finalize removed token 0" grep '"removed_tokens":\[ *0 *\]' /tmp/final.json
        check "token 1 is no longer pending" sh -c \
                "cryptsetup token export --token-id 1 $dev | grep -v cvm-reseal-pending"
        cvm-enroll check --device $dev >/tmp/check2.txt 2>&1 || :
        cat /tmp/check2.txt
        check_fails "token 0 is gone" grep '^token 0 ' /tmp/check2.txt
        check "token 1 still opens the volume" grep '^token 1 .*opens the volume' /tmp/check2.txt
        check "keyslots left: the passphrase and token 1's" sh -c \
                "cryptsetup luksDump $dev | grep -c '^  [0-9]*: luks2' | grep -x 2"
        check "finalize again: nothing to do" sh -c \
                "cvm-enroll reseal --finalize --device $dev | grep 'nothing to do'"
        ;;
esac
GUEST

# The two UKIs, built before either boots: the guest of a needs b.
vm_build_uki "$VM_TMP/a.efi" --scenario "$VM_TMP/scenario.sh" --append cvm.variant=a
vm_build_uki "$VM_TMP/b.efi" --scenario "$VM_TMP/scenario.sh" --append cvm.variant=b

# vda: the LUKS2 volume, sealed offline to the VM's TPM; vdb: a tar of the
# two UKIs for the guest.
luks_key=$VM_TMP/build.pass
mkdir -p "$VM_TMP/files"
head -c 32 /dev/urandom | base64 >"$luks_key"
truncate -s 32M "$VM_TMP/disk.img"
cryptsetup luksFormat -q --type luks2 --pbkdf pbkdf2 --pbkdf-force-iterations 1000 \
        --key-file "$luks_key" "$VM_TMP/disk.img"
# The VM's TPM (its state dir, which every boot of this test uses), once
# on the host: the SRK public key as docs/IMPORT-TOKEN.md reads it.
saved_tcti=${TPM2TOOLS_TCTI:-}
swtpm_start_tcp "$VM_TMP/tpm"
tpm2_createprimary -Q -C o -g sha256 -G ecc256:null:aes128cfb \
        -a 'restricted|decrypt|fixedtpm|fixedparent|sensitivedataorigin|userwithauth' -c "$VM_TMP/srk.ctx"
tpm2_readpublic -Q -c "$VM_TMP/srk.ctx" -o "$VM_TMP/srk.pub"
swtpm_stop "$SWTPM_PID"
export TPM2TOOLS_TCTI=$saved_tcti
pcr11_a=$("$CVM_TESTTOOL" pe "$VM_TMP/a.efi" | awk '$1 == "pcr11" { print $2 }')
"$CVM_ENROLL" seal-offline --device="$VM_TMP/disk.img" --unlock-key-file="$luks_key" \
        --srk-pub="$VM_TMP/srk.pub" --pcrs=11 --pcr-values="11=$pcr11_a"
rm -f "$luks_key"
cp "$VM_TMP/a.efi" "$VM_TMP/b.efi" "$VM_TMP/files/"
tar -C "$VM_TMP/files" -cf "$VM_TMP/files.tar" .
truncate -s %512 "$VM_TMP/files.tar"

vm_run --uki "$VM_TMP/a.efi" --disk "$VM_TMP/disk.img" --disk "$VM_TMP/files.tar"
log_a=$VM_LOG
vm_run --uki "$VM_TMP/b.efi" --disk "$VM_TMP/disk.img" --disk "$VM_TMP/files.tar"
log_b=$VM_LOG

# --- host: independent checks of the pieces ---
vm_log_values cvm-eventlog "$log_a" | base64 -d >"$VM_TMP/eventlog-a.bin"
tpm2_eventlog "$VM_TMP/eventlog-a.bin" >"$VM_TMP/eventlog-a.yaml" 2>/dev/null
# tpm2_eventlog ends with "pcrs: sha256: N : 0x..." (replayed by tpm2-tools).
el_pcr() {
        awk -v want="$2" '/^pcrs:/ { p = 1 } p && /sha256:/ { s = 1; next } p && s && $1 == want { print tolower(substr($3, 3)); exit }' "$1"
}
for i in 4 7 11; do
        check_eq "tpm2_eventlog's replay of PCR $i = the TPM's (boot a)" \
                "$(vm_log_values "cvm-pcr$i" "$log_a")" "$(el_pcr "$VM_TMP/eventlog-a.yaml" "$i")"
done
authenticode() {
        # verify exits 1 (the snakeoil CA is not trusted); the digest is printed anyway.
        { osslsigncode verify -in "$1" 2>/dev/null || :; } | awk '/Calculated message digest/ { print tolower($5) }'
}
auth_a=$(authenticode "$VM_TMP/a.efi")
check "osslsigncode's Authenticode digest of a.efi is what OVMF logged in PCR 4" \
        grep -i "Digest: \"*$auth_a" "$VM_TMP/eventlog-a.yaml" >/dev/null
check_eq "cvm's Authenticode digest of a.efi = osslsigncode's" "authenticode $auth_a" \
        "$("$CVM_TESTTOOL" pe "$VM_TMP/a.efi" | head -1)"
# systemd-stub 252, modelled independently: for each present section of
# .linux .osrel .cmdline .initrd .splash .dtb .pcrpkey, extend
# sha256(name + NUL) then sha256(content).
stub_pcr11() {
        local s
        rm -rf "$VM_TMP/sect"
        mkdir "$VM_TMP/sect"
        for s in .linux .osrel .cmdline .initrd .splash .dtb .pcrpkey; do
                objcopy -O binary --only-section="$s" "$1" "$VM_TMP/sect/$s" 2>/dev/null || :
        done
        "$(command -v /usr/bin/python3 || command -v python3)" - "$VM_TMP/sect" <<'PY'
import hashlib, os, sys
pcr = bytes(32)
for s in (".linux", ".osrel", ".cmdline", ".initrd", ".splash", ".dtb", ".pcrpkey"):
    p = os.path.join(sys.argv[1], s)
    if not os.path.exists(p) or os.path.getsize(p) == 0:
        continue
    for d in (s.encode() + b"\0", open(p, "rb").read()):
        pcr = hashlib.sha256(pcr + hashlib.sha256(d).digest()).digest()
print(pcr.hex())
PY
}
check_eq "PCR 11 of boot a = the stub model (Python) of a.efi" \
        "$(vm_log_values cvm-pcr11 "$log_a")" "$(stub_pcr11 "$VM_TMP/a.efi")"
check_eq "PCR 11 of boot b = the stub model (Python) of b.efi" \
        "$(vm_log_values cvm-pcr11 "$log_b")" "$(stub_pcr11 "$VM_TMP/b.efi")"

# --- the prediction against what boot b measured ---
check_eq "reseal exited 0" 0 "$(vm_log_values cvm-reseal-status "$log_a")"
echo "PCR  predicted in boot a (for b.efi)                               read in boot b"
for i in 4 7 11; do
        p=$(vm_log_values "cvm-predicted$i" "$log_a")
        g=$(vm_log_values "cvm-pcr$i" "$log_b")
        printf '%-3s  %s  %s\n' "$i" "$p" "$g"
        check_eq "PCR $i: predicted = measured in boot b" "$g" "$p"
done
check_eq "PCR 7 did not change" "$(vm_log_values cvm-pcr7 "$log_a")" "$(vm_log_values cvm-pcr7 "$log_b")"
check "PCR 4 and 11 changed (the prediction was not trivially the old values)" \
        test "$(vm_log_values cvm-changes "$log_a" | tr '\n' ' ')" = "4 11 "
check_done
