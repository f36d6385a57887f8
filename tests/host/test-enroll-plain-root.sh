#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# cvm-enroll --root= on a filesystem with no dm-crypt under it (a plain
# image booting the same first-boot units): every verb that takes --root=
# says so in one info line, touches neither the TPM nor the disk and exits
# 2, cvm-enroll(8)'s "nothing to do" status, which the units count as
# success. Plain ext4 and xfs on a loop device's partition, mounted
# read-only so that the mount itself writes nothing either; the TPM is a
# TCTI nobody listens on, so any TPM access would fail the command.
# Also: --root= on something that is no mount point stays a failure (1).
set -eu -o pipefail
. "$(dirname "$0")/../lib/common.sh"
. "$CVM_SRCDIR/tests/lib/disk.sh"

require_root
require_cmd sfdisk mkfs.ext4 mkfs.xfs partx
tmp=$(test_tmpdir)
at_exit rm -rf "$tmp"

MiB=1048576
EXIT_NOT_ENCRYPTED=2
# Nothing listens there: a verb that reached for the TPM would fail.
NO_TPM=swtpm:host=127.0.0.1,port=9

# plain_fs NAME FS: partition 1 of a loop device holding FS, mounted
# read-only at $tmp/NAME.mnt. Sets IMG, MNT.
plain_fs() {
        local name=$1 fs=$2
        IMG=$tmp/$name.img
        MNT=$tmp/$name.mnt
        truncate -s $((400 * MiB)) "$IMG"
        loop_attach "$IMG"
        printf 'label: gpt\nstart=%s, size=%s, type=L\n' 2048 $((300 * 2048)) |
                sfdisk -q --no-reread --no-tell-kernel "$LOOP" >/dev/null
        partx -a "$LOOP"
        [ -b "${LOOP}p1" ] || die "partx did not add '${LOOP}p1'"
        case $fs in
        ext4) mkfs.ext4 -q -F "${LOOP}p1" ;;
        xfs) mkfs.xfs -q -f "${LOOP}p1" ;;
        esac
        # ro + norecovery: the mount replays and writes nothing (xfs and ext4
        # both know the option).
        mount_at "${LOOP}p1" "$MNT" -o ro,norecovery
}

for fs in ext4 xfs; do
        plain_fs "plain-$fs" "$fs"
        before=$(image_sum "$IMG")
        for verb in "tpm2 --pcrs=7" firstboot check status wipe-temporary convert-import "reseal --finalize"; do
                # shellcheck disable=SC2086 # the verb and its options, split on purpose
                rc=0
                err=$("$CVM_ENROLL" --tpm2-device="$NO_TPM" $verb --root="$MNT" 2>&1 >"$tmp/out") || rc=$?
                check_eq "$fs: cvm-enroll $verb --root= on a plain filesystem exits $EXIT_NOT_ENCRYPTED" \
                        "$EXIT_NOT_ENCRYPTED" "$rc"
                check "$fs: $verb: one line says it is not on an encrypted volume" \
                        contains "$err" "is not on an encrypted volume, nothing to do"
                check_eq "$fs: $verb: exactly one line on stderr" 1 "$(grep -c . <<<"$err")"
                check_eq "$fs: $verb: nothing on stdout" 0 "$(wc -c <"$tmp/out")"
        done
        rc=0
        "$CVM_ENROLL" --tpm2-device="$NO_TPM" firstboot --root="$MNT" --stamp="$tmp/stamp-$fs" >/dev/null 2>&1 || rc=$?
        check_eq "$fs: firstboot --root= --stamp= exits $EXIT_NOT_ENCRYPTED" "$EXIT_NOT_ENCRYPTED" "$rc"
        check "$fs: firstboot wrote the stamp (not encrypted counts as done)" test -f "$tmp/stamp-$fs"
        check_eq "$fs: the image is byte-identical" "$before" "$(image_sum "$IMG")"
done

# Not a mount point: a failure, not "nothing to do".
mkdir -p "$tmp/notmnt"
rc=0
"$CVM_ENROLL" --tpm2-device="$NO_TPM" status --root="$tmp/notmnt" >/dev/null 2>&1 || rc=$?
check_eq "--root= on a directory that is no mount point exits 1" 1 "$rc"

check_done
