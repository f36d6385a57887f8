# SPDX-License-Identifier: LGPL-2.1-or-later
# Guest side of tests/vm/test-firstboot-faults.sh (busybox ash): the
# first-boot jobs, run as the units run them, under one condition of the
# machine per boot (cvm.phase=):
#   setup    healthy TPM: enroll a TPM2 token (PCR 7) on the "E" disks
#   notpm    no TPM device at all
#   lockout  the TPM in dictionary-attack lockout (done on the host)
#   mixed    vdc shrunk below its GPT's claim under the running VM (QMP,
#            the host does it when the guest asks); vdd read-only
#            (BLKROSET); /run full; then PCR 7 extended after vdf's
#            enrollment (independent conditions, one after the other)
#   normal   every condition removed: the jobs must finish
# Disks ($DISKS for growroot-lib.sh): vda "F" and vdc "S" and vdd "R" are
# images as shipped (keyslot 0 = /files/key, also in /cc_growpart_keydata);
# the "E" disks vdb (for notpm), vde (lockout) and vdf (PCR 7 changed)
# have no key file and, after setup, a TPM2 token next to keyslot 0. One E
# disk per condition: cvm-growroot grows the partition before it needs the
# key, and a LUKS2 volume opened on a grown partition spans it already, so
# a second condition on the same disk would not need the TPM any more.
# Each job must exit with its documented status and, when it fails, print
# one line on stderr saying why; the LUKS2 header area (first 16 MiB of the
# partition) must be unchanged, keyslot 0's key must still open the volume
# and the files be intact (sha256). Result lines for the host:
# "cvm-job PHASE NAME RC", "cvm-header PHASE DEV SHA256".

. /files/growroot-lib.sh

PHASE=$(cmdline_arg cvm.phase)
LUKS_HEADER_MIB=16 # mkdisk_luks_gpt: the data segment starts at 16 MiB

header_sum() { # the LUKS2 header area of DEV's partition
        dd if="/dev/${1}1" bs=1M count=$LUKS_HEADER_MIB 2>/dev/null | sha256sum | cut -d' ' -f1
}
gpt_sum() { # the primary GPT (protective MBR, header, entries)
        dd if="/dev/$1" bs=512 count=34 2>/dev/null | sha256sum | cut -d' ' -f1
}
contains() { printf '%s\n' "$1" | grep -q -F -e "$2"; }
kd() { echo "/mnt/$1/cc_growpart_keydata"; }
intact() { (cd "/mnt/$1" && sha256sum -c /files/sums >/dev/null); }
key_opens() {
        cryptsetup open --test-passphrase --key-file /files/key --key-slot 0 "/dev/${1}1"
}
open_mount() { # open_mount DEV [ro]
        wait_for "/dev/${1}1"
        if [ "${2:-}" = ro ]; then
                cryptsetup open --readonly --key-file /files/key --key-slot 0 "/dev/${1}1" "gr-$1" &&
                        mkdir -p "/mnt/$1" && mount -t ext4 -o ro,noload "/dev/mapper/gr-$1" "/mnt/$1"
        else
                gr_open_keyfile "$1" && gr_mount "$1"
        fi
}
close() {
        umount "/mnt/$1"
        cryptsetup close "gr-$1"
}

# job NAME RC PHRASE CMD...: CMD exits RC; when RC != 0, with exactly one
# line on stderr that contains PHRASE.
job() {
        local name=$1 want=$2 phrase=$3 rc=0
        shift 3
        "$@" >/tmp/job.out 2>/tmp/job.err || rc=$?
        echo "cvm-job $PHASE $name $rc"
        echo "# $PHASE: $name: exit $rc: $(cat /tmp/job.err)"
        check_eq "$PHASE: $name: exit status $want" "$want" "$rc"
        if [ "$want" != 0 ]; then
                check_eq "$PHASE: $name: one line on stderr" 1 "$(grep -c . /tmp/job.err)"
                check "$PHASE: $name: says '$phrase'" grep -q -F -e "$phrase" /tmp/job.err
        fi
}

# The jobs, as the units run them (cvm-growroot.service, then
# cvm-enroll-firstboot.service's steps, cvm-authcheck.service).
growroot() { cvm-growroot -q --root="/mnt/$1" --keydata="$(kd "$1")"; }
convert_import() { cvm-enroll -q convert-import --root="/mnt/$1"; }
enroll_tpm2() { cvm-enroll -q tpm2 --root="/mnt/$1" --pcrs=7 --unlock-keydata="$(kd "$1")"; }
wipe_temporary() { cvm-enroll -q wipe-temporary --root="/mnt/$1" --keydata="$(kd "$1")"; }
enroll_check() { cvm-enroll -q check --root="/mnt/$1"; }
authcheck() { cvm-authcheck -q --host-keys-dir=/etc/ssh --console=/dev/console; }

# unchanged DEV HEADER_BEFORE: nothing the failures did touched the volume.
unchanged() {
        check_eq "$PHASE: $1: LUKS2 header area unchanged" "$2" "$(header_sum "$1")"
        check "$PHASE: $1: keyslot 0's key still opens the volume" key_opens "$1"
        check "$PHASE: $1: files intact (sha256)" intact "$1"
}

# tpm_condition E TPM2 WIPE CHECK REPORT AUTHCHECK GROWROOT: a condition
# that makes the TPM unusable (notpm, lockout): F's jobs and disk E's; what
# enroll says on stderr for F's tpm2 and wipe-temporary, for E's check (and
# on stdout, in its per-token report, when there is one), what authcheck
# says, what growroot says for E (status 5 either way).
tpm_condition() {
        local e=$1 h
        open_mount vda
        h=$(header_sum vda)
        # The legacy key file opens the volume: growing needs no TPM.
        job "F cvm-growroot" 0 "" growroot vda
        job "F cvm-enroll convert-import" 0 "" convert_import vda
        job "F cvm-enroll tpm2" 1 "$2" enroll_tpm2 vda
        job "F cvm-enroll wipe-temporary" 1 "$3" wipe_temporary vda
        unchanged vda "$h"
        check "$PHASE: F: the legacy key file is still there" test -s "$(kd vda)"
        close vda
        open_mount "$e"
        h=$(header_sum "$e")
        job "E cvm-growroot" 5 "$7" growroot "$e"
        job "E cvm-enroll check" 1 "$4" enroll_check "$e"
        [ -z "$5" ] || check "$PHASE: E cvm-enroll check: its report says '$5'" grep -q -F -e "$5" /tmp/job.out
        unchanged "$e" "$h"
        close "$e"
        job "cvm-authcheck" 1 "$6" authcheck
        check_fails "$PHASE: cvm-authcheck wrote no evidence" test -e /run/cvm-authcheck/evidence.json
}

# firstboot_completes DEV: the whole first boot on an image as shipped.
firstboot_completes() {
        local d=$1
        open_mount "$d"
        job "$d cvm-growroot" 0 "" growroot "$d"
        check_eq "$PHASE: $d: partition grown to the disk's end" "$(gpt_want_last_lba "$d")" "$(gpt_last_lba "$d")"
        job "$d cvm-enroll convert-import" 0 "" convert_import "$d"
        job "$d cvm-enroll tpm2" 0 "" enroll_tpm2 "$d"
        job "$d cvm-enroll wipe-temporary" 0 "" wipe_temporary "$d"
        check_fails "$PHASE: $d: keyslot 0 (the image's key) gone" key_opens "$d"
        check_fails "$PHASE: $d: legacy key file gone" test -e "$(kd "$d")"
        check "$PHASE: $d: the TPM2 token opens the volume" cvm-enroll -q check --device "/dev/${d}1"
        check "$PHASE: $d: files intact (sha256)" intact "$d"
        close "$d"
}

if [ "$PHASE" != notpm ]; then
        wait_for /dev/tpmrm0
fi
chmod 600 /etc/ssh/ssh_host_*_key
for d in $(gr_devs); do
        wait_for "/dev/${d}1"
done

case $PHASE in
setup)
        for e in vdb vde vdf; do
                check "setup: E $e: a TPM2 token (PCR 7) next to keyslot 0" \
                        cvm-enroll -q tpm2 --device "/dev/${e}1" --unlock-key-file=/files/key --pcrs=7
        done
        ;;
notpm)
        check_fails "notpm: no TPM device" test -e /dev/tpmrm0
        nt="No TPM 2.0 device found (/dev/tpmrm0 missing)"
        tpm_condition vdb "$nt" "$nt, refusing to wipe anything" "$nt" "" "$nt" \
                "$nt, so no TPM2 token opens it, and there is no legacy key"
        ;;
lockout)
        lo="dictionary-attack lockout"
        tpm_condition vde "$lo" "No non-temporary TPM2 token opens" "No TPM2 token opens" "$lo" "$lo" \
                "no TPM2 token opens it"
        ;;
mixed)
        # --- S: the disk shrinks under the running VM below what its GPT
        # claims (the backup header is cut off; the partition still fits).
        open_mount vdc
        h=$(header_sum vdc)
        g=$(gpt_sum vdc)
        want=$(cmdline_arg cvm.shrink_sectors)
        echo "cvm-guest: shrink vdc now"
        n=600
        while [ "$(cat /sys/block/vdc/size)" != "$want" ] && [ $n -gt 0 ]; do
                usleep 100000
                n=$((n - 1))
        done
        check_eq "mixed: vdc shrank to $want sectors" "$want" "$(cat /sys/block/vdc/size)"
        job "S cvm-growroot" 4 "smaller than its GPT says" growroot vdc
        check_eq "mixed: S: primary GPT unchanged" "$g" "$(gpt_sum vdc)"
        unchanged vdc "$h"
        close vdc

        # --- R: a read-only disk (BLKROSET on the disk and its partition).
        blockdev --setro /dev/vdd
        blockdev --setro /dev/vdd1
        check_eq "mixed: vdd1 is read-only" 1 "$(blockdev --getro /dev/vdd1)"
        open_mount vdd ro
        h=$(header_sum vdd)
        g=$(gpt_sum vdd)
        job "R cvm-growroot" 6 "is read-only" growroot vdd
        job "R cvm-enroll convert-import" 0 "" convert_import vdd
        job "R cvm-enroll tpm2" 1 "is read-only; cannot add a keyslot" enroll_tpm2 vdd
        check_eq "mixed: R: primary GPT unchanged" "$g" "$(gpt_sum vdd)"
        unchanged vdd "$h"
        close vdd
        blockdev --setrw /dev/vdd1
        blockdev --setrw /dev/vdd

        # --- a full /run: what is written there (the evidence) cannot be.
        # /run holds the results file too: run with it full, keep the
        # outcome in memory, free it, then record.
        used=$(df -k /run | awk 'NR == 2 { print $3 }')
        mount -o remount,size=$((used + 32))k /run
        dd if=/dev/zero of=/run/filler bs=4k 2>/dev/null
        rc=0
        err=$(authcheck 2>&1 >/dev/null) || rc=$?
        left=$(find /run/cvm-authcheck -type f 2>/dev/null | wc -l)
        rm -f /run/filler
        mount -o remount,size=50% /run
        echo "cvm-job mixed full-run-cvm-authcheck $rc"
        echo "# mixed: full /run: cvm-authcheck: exit $rc: $err"
        check_eq "mixed: full /run: cvm-authcheck exit status 1" 1 "$rc"
        check_eq "mixed: full /run: one line on stderr" 1 "$(echo "$err" | grep -c .)"
        check "mixed: full /run: says 'No space left on device'" contains "$err" "No space left on device"
        check_eq "mixed: full /run: no evidence file, no temporary file left" 0 "$left"

        # --- PCR 7 changes after E's enrollment (a new Secure Boot db entry).
        check "mixed: PCR 7 extended" env TPM2TOOLS_TCTI=device:/dev/tpmrm0 \
                tpm2 pcrextend "7:sha256=$(printf 'new db entry' | sha256sum | cut -d' ' -f1)"
        open_mount vdf
        h=$(header_sum vdf)
        job "E cvm-growroot" 5 "no TPM2 token opens it" growroot vdf
        job "E cvm-enroll check" 1 "No TPM2 token opens" enroll_check vdf
        pc="current PCR values differ"
        check "mixed: E cvm-enroll check: its report says '$pc'" grep -q -F -e "$pc" /tmp/job.out
        job "E cvm-enroll wipe-temporary" 1 "refusing to wipe" \
                cvm-enroll -q wipe-temporary --root=/mnt/vdf --keydata=/mnt/vdf/none
        unchanged vdf "$h"
        close vdf
        ;;
normal)
        for d in vda vdc vdd; do
                firstboot_completes "$d"
        done
        for e in vdb vde vdf; do
                open_mount "$e"
                job "E $e cvm-growroot" 0 "" growroot "$e"
                check_eq "normal: $e: partition grown to the disk's end" "$(gpt_want_last_lba "$e")" \
                        "$(gpt_last_lba "$e")"
                check_eq "normal: $e: LUKS2 mapping follows the partition" \
                        "$(($(part_bytes "$e") - $(luks_offset_bytes "gr-$e")))" "$(dm_bytes "gr-$e")"
                job "E $e cvm-enroll check" 0 "" enroll_check "$e"
                check "normal: $e: files intact (sha256)" intact "$e"
                close "$e"
        done
        job "cvm-authcheck" 0 "" authcheck
        check "normal: evidence written" test -s /run/cvm-authcheck/evidence.json
        ;;
*)
        not_ok "unknown cvm.phase '$PHASE'"
        ;;
esac
for d in $(gr_devs); do
        [ -e "/dev/${d}1" ] && echo "cvm-header $PHASE $d $(header_sum "$d")"
done
