#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# cvm-growroot is crash-safe: for every fault-injection point in growroot/
# (the test_hook("...") calls, found with grep, so a new point is covered
# without touching this test), the guest runs CVM_TEST_ABORT_AT=POINT
# cvm-growroot, which _exits there, and then cuts the power without sync.
# The next boot (same disks, same TPM state) opens each volume with its
# TPM2 token, checks the files' sha256, and a plain cvm-growroot must
# finish the job: partition, LUKS2 mapping and filesystem at full size,
# backup GPT at the end, a rerun a no-op, the filesystem's own checker
# clean. Boots are chained: boot k verifies point k-1, then (after the host
# grew the disks live) injects point k. Every point is hit on three disks
# at once: LUKS2 + ext4 (512-byte sectors, a systemd-cryptenroll token),
# + xfs (4096) and + btrfs (512), both with cvm-enroll's token.
set -eu -o pipefail
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/swtpm.sh"
. "$(dirname "$0")/lib/vm.sh"
. "$(dirname "$0")/lib/mkdisk.sh"

require_cmd mkfs.ext4 mkfs.xfs mkfs.btrfs sfdisk losetup systemd-cryptenroll

# The fault points, in the order the steps run (part, luks, fs, then any
# other file), each once.
fault_points() {
        local f
        for f in "$CVM_SRCDIR"/growroot/growroot-part.c "$CVM_SRCDIR"/growroot/growroot-luks.c \
                "$CVM_SRCDIR"/growroot/growroot-fs.c "$CVM_SRCDIR"/growroot/*.c; do
                grep -o 'test_hook("[^"]*")' "$f" | sed 's/^test_hook("\(.*\)")$/\1/'
        done | awk '!seen[$0]++'
}
mapfile -t points < <(fault_points)
[ "${#points[@]}" -gt 0 ] || die "no test_hook(\"...\") found in growroot/"
# CVM_GROWROOT_POINTS="a b": only these (when debugging one point).
if [ -n "${CVM_GROWROOT_POINTS:-}" ]; then
        for p in $CVM_GROWROOT_POINTS; do
                printf '%s\n' "${points[@]}" | grep -Fx -e "$p" >/dev/null || die "'$p' is not a fault point of growroot/"
        done
        read -r -a points <<<"$CVM_GROWROOT_POINTS"
fi
echo "fault points (from growroot/*.c): ${points[*]}"

vm_setup

disk_mib=512
step_mib=128 # live growth before each injection after the first
disks="vda:ext4:512:sd vdb:xfs:4096:cvm vdc:btrfs:512:cvm"

content=$VM_TMP/content
mkdir -p "$content/etc" "$content/srv"
head -c 4M /dev/urandom >"$content/data.bin"
head -c 700K /dev/urandom >"$content/srv/blob"
echo "cvm-firstboot growroot interrupt" >"$content/etc/motd"
(cd "$content" && sha256sum data.bin srv/blob etc/motd) >"$VM_TMP/sums"
(umask 077 && head -c 32 /dev/urandom >"$VM_TMP/key")

tpm=$VM_TMP/tpm
swtpm_start_tcp "$tpm"
sd_enroll() {
        systemd-cryptenroll --tpm2-device="$SWTPM_TCTI" --tpm2-pcrs=16 --unlock-key-file="$VM_TMP/key" "$1" \
                >"$VM_TMP/cryptenroll.log" 2>&1 || { cat "$VM_TMP/cryptenroll.log"; return 1; }
}
disk_args=()
for d in $disks; do
        IFS=: read -r dev fs ss token <<<"$d"
        image_mib=192
        [ "$fs" = xfs ] && image_mib=352
        hook=()
        [ "$token" = sd ] && hook=(--part-hook sd_enroll)
        mkdisk_luks_gpt "$VM_TMP/$dev.img" "$disk_mib" "$image_mib" "$content" "$VM_TMP/key" "$fs" \
                --sector-size "$ss" "${hook[@]}"
        if [ "$ss" = 4096 ]; then
                disk_args+=(--disk-4k "$VM_TMP/$dev.img")
        else
                disk_args+=(--disk "$VM_TMP/$dev.img")
        fi
done
swtpm_stop "$SWTPM_PID"
_vm_forget_exit_action swtpm_stop "$SWTPM_PID"

# The guest's own ok/not ok lines of a boot that ended in a power cut (no
# final "N passed, M failed" line then): each becomes one of ours.
collect_guest_results() {
        local line
        while IFS= read -r line; do
                case $line in
                "ok - "*) ok "guest: ${line#ok - }" ;;
                "not ok - "*) not_ok "guest: ${line#not ok - }" ;;
                esac
        done < <(_vm_log_text)
}

boot() { # boot VERIFY_POINT|"" ABORT_POINT|"" SIZE_MIB_AFTER_LIVE_RESIZE
        local verify=$1 abort=$2 live_mib=$3 append="" n
        [ -n "$verify" ] && append="$append cvm.verify=$verify"
        [ -z "$verify" ] && append="$append cvm.first"
        [ -n "$abort" ] && append="$append cvm.abort_at=$abort"
        # Boots cut by power_cut print no result line; the last one does.
        # Either way the guest's checks are collected below, so a failed
        # recovery still reaches the summary.
        local -a done_arg=(--done '^[0-9]+ passed, [0-9]+ failed$')
        [ -n "$abort" ] && done_arg=(--done 'cvm-guest: power cut')
        vm_start --scenario "$CVM_SRCDIR/tests/vm/scenarios/growroot-interrupt.sh" \
                --file "$CVM_SRCDIR/tests/vm/scenarios/growroot-lib.sh" \
                --file "$VM_TMP/key" --file "$VM_TMP/sums" \
                --env "DISKS=$disks" --append "${append# }" \
                --tpm-state "$tpm" "${disk_args[@]}" "${done_arg[@]}" --timeout 600
        if [ -n "$abort" ] && [ -n "$verify" ]; then
                vm_wait_log 'cvm-ready-for-live-resize'
                n=0
                for _ in $disks; do
                        vm_qmp "{\"execute\":\"block_resize\",\"arguments\":{\"device\":\"disk$n\",\"size\":$((live_mib * 1048576))}}" \
                                >/dev/null
                        n=$((n + 1))
                done
        fi
        vm_wait
        collect_guest_results
        [ -z "$abort" ] || echo "vm: boot $VM_BOOTS cut the power at '$abort'"
        logs+=("$VM_LOG")
}

logs=()
size=$disk_mib
prev=""
for p in "${points[@]}"; do
        [ -z "$prev" ] || size=$((size + step_mib))
        boot "$prev" "$p" "$size"
        prev=$p
done
boot "$prev" "" "$size"

# Per point: injected on every disk (exit 134 at that point), recovered on
# every disk (all checks of its verification passed), files intact on all.
tested=0 recovered=0 lost=0
for p in "${points[@]}"; do
        inj=0 rec=0 bad=0
        for d in $disks; do
                dev=${d%%:*}
                [ "$(cat "${logs[@]}" | tr -d '\r' | awk -v p="$p" -v d="$dev" '$1 == "cvm-injected" && $2 == p && $3 == d { print $4 }')" = 134 ] &&
                        inj=$((inj + 1))
                [ "$(cat "${logs[@]}" | tr -d '\r' | awk -v p="$p" -v d="$dev" '$1 == "cvm-recovered" && $2 == p && $3 == d { print $4 }')" = yes ] &&
                        rec=$((rec + 1))
                [ "$(cat "${logs[@]}" | tr -d '\r' | awk -v p="$p" -v d="$dev" '$1 == "cvm-intact" && $2 == p && $3 == d { print $4 }')" = yes ] ||
                        bad=$((bad + 1))
        done
        n=$(wc -w <<<"$disks")
        check_eq "point $p: injected on every disk" "$n" "$inj"
        check_eq "point $p: recovered on every disk" "$n" "$rec"
        check_eq "point $p: no file lost or changed" 0 "$bad"
        tested=$((tested + 1))
        [ "$inj" = "$n" ] && [ "$rec" = "$n" ] && recovered=$((recovered + 1))
        [ "$bad" = 0 ] || lost=$((lost + 1))
done
echo "fault points tested: $tested, recovered: $recovered, data loss: $lost" \
        "($((tested * $(wc -w <<<"$disks"))) cuts: each point on ext4/512, xfs/4096, btrfs/512; $VM_BOOTS boots)"
check_done
