#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# lib/pe-authenticode, lib/uefi-eventlog and the PCR 11 model of
# lib/pcr-predict against independent implementations, on real inputs:
#   * Authenticode digests of signed EFI images = osslsigncode's
#     ("Calculated message digest"), for systemd-boot, the systemd-stub
#     and a small UKI built from it (fuzz/corpus/fuzz-pe/);
#   * the replay of a real OVMF + Secure Boot + UKI event log
#     (fuzz/corpus/fuzz-eventlog/ovmf-sb-uki.bin, captured in the vm tier)
#     = tpm2_eventlog's (tpm2-tools) for PCR 0-7 and 11;
#   * PCR 11 of a UKI = a Python model of systemd-stub 252 over the
#     sections objcopy extracts;
#   * every hostile image and log of tests/generators/ is refused with a
#     reason. No root, no TPM.
set -eu -o pipefail
. "$(dirname "$0")/../lib/common.sh"

require_cmd osslsigncode tpm2_eventlog objcopy sbsign openssl python3
tmp=$(test_tmpdir)
at_exit rm -rf "$tmp"
pe_dir=$CVM_SRCDIR/fuzz/corpus/fuzz-pe
log=$CVM_SRCDIR/fuzz/corpus/fuzz-eventlog/ovmf-sb-uki.bin
python=$(command -v /usr/bin/python3 || command -v python3)

osslsigncode_digest() {
        { osslsigncode verify -in "$1" 2>/dev/null || :; } | awk '/Calculated message digest/ { print tolower($5) }'
}
cvm_field() {
        "$CVM_TESTTOOL" pe "$1" | awk -v k="$2" '$1 == k { print $2 }'
}

# Sign the unsigned stub here too: a cert table added by another signer.
openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=cvm-test -days 1 -keyout "$tmp/k.pem" -out "$tmp/c.pem" \
        2>/dev/null
# sbsign first pads the image to 8 bytes (the certificate table's
# alignment), and that padding is hashed: pad it ourselves to compare.
cp "$pe_dir/systemd252-linuxx64-stub.efi" "$tmp/stub.efi"
truncate -s %8 "$tmp/stub.efi"
sbsign --key "$tmp/k.pem" --cert "$tmp/c.pem" --output "$tmp/stub-signed.efi" "$tmp/stub.efi" >/dev/null 2>&1
for f in "$pe_dir/systemd252-bootx64-signed.efi" "$pe_dir/mini-uki-signed.efi" "$tmp/stub-signed.efi"; do
        want=$(osslsigncode_digest "$f")
        check "osslsigncode computed a digest for $(basename "$f")" test -n "$want"
        check_eq "Authenticode of $(basename "$f") = osslsigncode's" "$want" "$(cvm_field "$f" authenticode)"
done
# Signing adds the certificate table and changes the CheckSum and the
# directory entry: exactly what Authenticode leaves out.
check_eq "signing does not change the digest" "$(cvm_field "$tmp/stub.efi" authenticode)" \
        "$(cvm_field "$tmp/stub-signed.efi" authenticode)"
check "a changed byte in a section changes it" test "$(cvm_field "$tmp/stub-signed.efi" authenticode)" != "$(
        cp "$tmp/stub-signed.efi" "$tmp/flip.efi"
        printf '\x55' | dd of="$tmp/flip.efi" bs=1 seek=$((0x500)) conv=notrunc status=none
        cvm_field "$tmp/flip.efi" authenticode)"

# PCR 11: systemd-stub 252 measures sha256(name + NUL), then sha256(data)
# for each present section of .linux .osrel .cmdline .initrd .splash .dtb
# .pcrpkey.
for s in .linux .osrel .cmdline .initrd .splash .dtb .pcrpkey; do
        objcopy -O binary --only-section="$s" "$pe_dir/mini-uki-signed.efi" "$tmp/sect$s" 2>/dev/null || :
done
want=$("$python" - "$tmp" <<'PY'
import hashlib, os, sys
pcr = bytes(32)
for s in (".linux", ".osrel", ".cmdline", ".initrd", ".splash", ".dtb", ".pcrpkey"):
    p = os.path.join(sys.argv[1], "sect" + s)
    if not os.path.exists(p) or os.path.getsize(p) == 0:
        continue
    for d in (s.encode() + b"\0", open(p, "rb").read()):
        pcr = hashlib.sha256(pcr + hashlib.sha256(d).digest()).digest()
print(pcr.hex())
PY
)
check_eq "PCR 11 of the mini UKI = the Python stub model" "$want" "$(cvm_field "$pe_dir/mini-uki-signed.efi" pcr11)"
check_eq "no PCR 11 for a PE without .linux" "" "$(cvm_field "$pe_dir/systemd252-bootx64-signed.efi" pcr11)"

# Event log replay against tpm2-tools.
tpm2_eventlog "$log" >"$tmp/log.yaml" 2>/dev/null
"$CVM_TESTTOOL" eventlog "$log" 0+1+2+3+4+5+6+7+11 >"$tmp/replay"
for i in 0 1 2 3 4 5 6 7 11; do
        want=$(awk -v want="$i" '/^pcrs:/ { p = 1 } p && /sha256:/ { s = 1; next } p && s && $1 == want { print tolower(substr($3, 3)); exit }' "$tmp/log.yaml")
        check_eq "replay of PCR $i = tpm2_eventlog's" "$want" "$(awk -v i="$i" '$1 == i { print $2 }' "$tmp/replay")"
done
check "the OVMF log has the UKI's boot application event in PCR 4" grep -A2 'EV_EFI_BOOT_SERVICES_APPLICATION' "$tmp/log.yaml"

# Hostile inputs.
"$python" "$CVM_SRCDIR/tests/generators/pe-corrupt.py" "$pe_dir/mini-uki-signed.efi" "$tmp/bad-pe"
while IFS=$'\t' read -r n name; do
        rc=0
        err=$("$CVM_TESTTOOL" pe "$tmp/bad-pe/$n.efi" 2>&1 >/dev/null) || rc=$?
        check_eq "hostile PE '$name': refused" 1 "$rc"
        check "hostile PE '$name': a reason" test -n "$(sed -n 's/^.*Bad PE image: \(..*\)$/\1/p' <<<"$err")"
done <"$tmp/bad-pe/cases.tsv"
"$python" "$CVM_SRCDIR/tests/generators/eventlog-corrupt.py" "$log" "$tmp/bad-log"
while IFS=$'\t' read -r n name; do
        rc=0
        err=$("$CVM_TESTTOOL" eventlog "$tmp/bad-log/$n.bin" 4 2>&1 >/dev/null) || rc=$?
        check_eq "hostile event log '$name': refused" 1 "$rc"
        check "hostile event log '$name': a reason" test -n "$(sed -n 's/^.*Bad event log: \(..*\)$/\1/p' <<<"$err")"
done <"$tmp/bad-log/cases.tsv"
check_done
