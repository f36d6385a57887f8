#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The first boot's key jobs are crash-safe in a real kernel: for every
# fault-injection point of cvm-enroll convert-import (convert-import:*),
# cvm-enroll tpm2 (tpm2:*), cvm-enroll wipe-temporary (wipe:*) and
# cvm-authcheck (authcheck:*) -- the test_hook("...") calls, found with
# grep, so a new point is covered without touching this test -- the guest
# runs the first-boot job as the units run it with CVM_TEST_ABORT_AT=POINT,
# which _exits there, and cuts the power without sync. The next boot (same
# disks, same TPM state) must open the volume with some key (its TPM2 token
# or the image's key, never none), find the files intact (sha256), and
# running the jobs again (convert-import, tpm2, wipe-temporary, as
# cvm-enroll-firstboot.service does) must finish them: one systemd-tpm2
# token that opens the volume, no import token, legacy key file and slot
# gone, evidence published. Boots are chained: boot k verifies point k-1 and
# injects point k; each enroll point has a disk of its own (LUKS2 + ext4
# made like a RHEL CVM image: keyslot 0 = the key in /cc_growpart_keydata on
# the root filesystem). A convert-import point's disk is also pre-encrypted
# like an offline-sealed image: `cvm-enroll seal-offline` on the host added
# a keyslot and a cvm-tpm2-import token sealed to the SRK of the swtpm
# state this test's VM boots with (read with tpm2-tools before any boot)
# and to PCR 7 as a first, disk-less boot of that VM reads it. The points
# of seal-offline, reseal and finalize are not steps of this first boot;
# the host tier covers them (a point covered nowhere fails here, as does
# one of an unknown prefix).
set -eu -o pipefail
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/swtpm.sh"
. "$(dirname "$0")/lib/vm.sh"
. "$(dirname "$0")/lib/mkdisk.sh"

require_cmd mkfs.ext4 sfdisk ssh-keygen tpm2_createprimary tpm2_readpublic tpm2_flushcontext

# Each point once, in the order the first boot reaches them.
fault_points() {
        local f
        for f in "$CVM_SRCDIR"/enroll/enroll-convert.c "$CVM_SRCDIR"/enroll/enroll-tpm2.c "$CVM_SRCDIR"/lib/luks-tpm2.c "$CVM_SRCDIR"/enroll/*.c \
                "$CVM_SRCDIR"/authcheck/*.c; do
                grep -o 'test_hook("[^"]*")' "$f" | sed 's/^test_hook("\(.*\)")$/\1/' || true
        done | awk '!seen[$0]++'
}
points=()
while read -r p; do
        case $p in
        convert-import:* | tpm2:* | wipe:* | authcheck:*) points+=("$p") ;;
        # Not steps of this image's first boot: their abort points are
        # exercised by the host tier (process killed at the point, then
        # rerun); check that they still are.
        reseal:* | finalize:*)
                # test-enroll-crash.sh enumerates every point itself and
                # fails on one it has no scenario for.
                echo "# fault point '$p': covered by the host tier (test-enroll-crash)" ;;
        seal-offline:*)
                if grep -q -F -e "$p" "$CVM_SRCDIR/tests/host/test-enroll-import.sh"; then
                        echo "# fault point '$p': covered by the host tier (test-enroll-import)"
                else
                        not_ok "fault point '$p' has no scenario here nor in test-enroll-import.sh"
                fi ;;
        *) not_ok "fault point '$p' has no scenario in $(basename "$0"): add one" ;;
        esac
done < <(fault_points)
# The order of the first boot: convert-import's points, then tpm2:unlocked
# before tpm2:keyslot-added.
mapfile -t points < <(printf '%s\n' "${points[@]}" | awk '
        /^convert-import:/ { c[++m] = $0; next }
        /^tpm2:unlocked$/ { a[1] = $0; next } /^tpm2:keyslot-added$/ { a[2] = $0; next }
        /^tpm2:token-added$/ { a[3] = $0; next } { rest[++n] = $0 }
        END { for (i = 1; i <= m; i++) print c[i]; for (i = 1; i <= 3; i++) if (i in a) print a[i]
              for (i = 1; i <= n; i++) print rest[i] }')
for p in convert-import:imported convert-import:token-replaced tpm2:unlocked tpm2:keyslot-added tpm2:token-added wipe:token-removed wipe:slot-destroyed \
        authcheck:quoted authcheck:evidence-written; do
        check "fault point $p found in the source" contains "$(printf '%s\n' "${points[@]}")" "$p"
done
if [ -n "${CVM_FIRSTBOOT_POINTS:-}" ]; then # debugging: only these
        read -r -a points <<<"$CVM_FIRSTBOOT_POINTS"
fi
echo "fault points: ${points[*]}"

vm_setup

# The VM's TPM (the state dir every boot of this test uses): its SRK public
# key with systemd's ECC template, as an image builder reads it
# (docs/IMPORT-TOKEN.md), and its PCR 7 as the guest reads it in a boot
# with no disk (SeaBIOS measures before the kernel; nothing of the test
# does), for seal-offline.
case " ${points[*]} " in
*" convert-import:"*)
        saved_tcti=${TPM2TOOLS_TCTI:-}
        swtpm_start_tcp "$VM_TMP/tpm"
        tpm2_createprimary -Q -C o -g sha256 -G ecc256:null:aes128cfb \
                -a 'restricted|decrypt|fixedtpm|fixedparent|sensitivedataorigin|userwithauth' -c "$VM_TMP/srk.ctx"
        tpm2_readpublic -Q -c "$VM_TMP/srk.ctx" -o "$VM_TMP/srk.pub"
        tpm2_flushcontext -t
        swtpm_stop "$SWTPM_PID"
        export TPM2TOOLS_TCTI=$saved_tcti
        vm_run --scenario "$CVM_SRCDIR/tests/vm/scenarios/firstboot-interrupt.sh" \
                --file "$CVM_SRCDIR/tests/vm/scenarios/growroot-lib.sh" --append cvm.probe_pcr7 --timeout 300
        pcr7=$(vm_log_values cvm-pcr7)
        check "PCR 7 of the VM read by a first boot" test "${#pcr7}" = 64
        echo "# PCR 7 of this VM: $pcr7"
        ;;
esac

content=$VM_TMP/content
mkdir -p "$content/etc"
head -c 2M /dev/urandom >"$content/data.bin"
echo "cvm-firstboot interrupt" >"$content/etc/motd"
(cd "$content" && sha256sum data.bin etc/motd) >"$VM_TMP/sums"
(umask 077 && head -c 32 /dev/urandom >"$VM_TMP/key")
printf '{"key": "%s", "slot": 0}\n' "$(base64 -w0 "$VM_TMP/key")" >"$content/cc_growpart_keydata"
chmod 600 "$content/cc_growpart_keydata"
attest_keys=$VM_TMP/ssh
mkdir -p "$attest_keys"
ssh-keygen -q -t ed25519 -N '' -C '' -f "$attest_keys/ssh_host_ed25519_key"

# seal_offline PART: pre-encrypt the image's LUKS2 partition for this VM's
# TPM with no TPM at hand (mkdisk's --part-hook).
seal_offline() {
        "$CVM_ENROLL" -q seal-offline --device="$1" --unlock-key-file="$VM_TMP/key" --srk-pub="$VM_TMP/srk.pub" \
                --pcrs=7 --pcr-values="7=$pcr7"
}

letters=(a b c d e f g h i j k l m n o p)
disks="" pointmap="" disk_args=() n=0
for p in "${points[@]}"; do
        case $p in authcheck:*) continue ;; esac
        dev=vd${letters[$n]}
        hook=()
        case $p in convert-import:*) hook=(--part-hook seal_offline) ;; esac
        mkdisk_luks_gpt "$VM_TMP/$dev.img" 66 64 "$content" "$VM_TMP/key" ext4 "${hook[@]}"
        disks+=" $dev:ext4:512:cvm"
        pointmap+=" $p=$dev"
        disk_args+=(--disk "$VM_TMP/$dev.img")
        n=$((n + 1))
done
rm -f "$content/cc_growpart_keydata"

collect_guest_results() {
        local line
        while IFS= read -r line; do
                case $line in
                "ok - "*) ok "guest: ${line#ok - }" ;;
                "not ok - "*) not_ok "guest: ${line#not ok - }" ;;
                esac
        done < <(_vm_log_text)
}

logs=()
boot() { # boot VERIFY_POINT|"" ABORT_POINT|""
        local verify=$1 abort=$2 append=""
        [ -n "$verify" ] && append="$append cvm.verify=$verify"
        [ -n "$abort" ] && append="$append cvm.abort_at=$abort"
        local -a done_arg=(--done '^[0-9]+ passed, [0-9]+ failed$')
        [ -n "$abort" ] && done_arg=(--done 'cvm-guest: power cut')
        vm_start --scenario "$CVM_SRCDIR/tests/vm/scenarios/firstboot-interrupt.sh" \
                --file "$CVM_SRCDIR/tests/vm/scenarios/growroot-lib.sh" \
                --file "$VM_TMP/key" --file "$VM_TMP/sums" \
                --file "$attest_keys/ssh_host_ed25519_key:/etc/ssh/ssh_host_ed25519_key" \
                --file "$attest_keys/ssh_host_ed25519_key.pub:/etc/ssh/ssh_host_ed25519_key.pub" \
                --env "DISKS=${disks# }" --env "POINTS=${pointmap# }" --append "${append# }" \
                "${disk_args[@]}" "${done_arg[@]}" --timeout 600
        vm_wait
        collect_guest_results
        [ -z "$abort" ] || echo "vm: boot $VM_BOOTS cut the power at '$abort'"
        logs+=("$VM_LOG")
}

prev=""
for p in "${points[@]}"; do
        boot "$prev" "$p"
        prev=$p
done
boot "$prev" ""

value() { # value KEY POINT: the guest's "KEY POINT VALUE" line
        cat "${logs[@]}" | tr -d '\r' | awk -v k="$1" -v p="$2" '$1 == k && $2 == p { print $3 }' | tail -1
}
tested=0 recovered=0 lost=0 lockouts=0
per_binary=""
for p in "${points[@]}"; do
        check_eq "point $p: injected (exit 134)" 134 "$(value cvm-injected "$p")"
        check_eq "point $p: recovered" yes "$(value cvm-recovered "$p")"
        check_eq "point $p: files intact" yes "$(value cvm-intact "$p")"
        check "point $p: the volume opened with some key" test "$(value cvm-opened-with "$p")" != none
        tested=$((tested + 1))
        [ "$(value cvm-recovered "$p")" = yes ] && recovered=$((recovered + 1))
        [ "$(value cvm-intact "$p")" = yes ] || lost=$((lost + 1))
        [ "$(value cvm-opened-with "$p")" != none ] || lockouts=$((lockouts + 1))
        echo "# $p: volume opened after the cut with: $(value cvm-opened-with "$p")"
done
for b in convert-import tpm2 wipe authcheck; do
        per_binary+=" $b:$(printf '%s\n' "${points[@]}" | grep -c "^$b:" || true)"
done
echo "fault points tested: $tested (${per_binary# }), recovered: $recovered, data loss: $lost," \
        "lockouts: $lockouts ($VM_BOOTS boots)"
check_done
