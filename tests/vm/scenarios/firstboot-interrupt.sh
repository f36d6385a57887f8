# SPDX-License-Identifier: LGPL-2.1-or-later
# Guest side of tests/vm/test-firstboot-interrupt.sh (busybox ash). One boot
# of a chain; each fault point has a disk of its own ($POINTS: "POINT=DEV"
# words; $DISKS describes the disks for growroot-lib.sh). The kernel command line says what this boot does:
#   cvm.verify=POINT    the previous boot was cut at POINT: the volume of
#                       POINT's disk must open with some key (its TPM2
#                       token, else the image's key), its files be intact,
#                       and the first-boot jobs run as the units run them
#                       must then finish: one TPM2 slot left, the legacy key
#                       file and slot gone, evidence published
#   cvm.abort_at=POINT  run the first boot on POINT's disk up to POINT with
#                       CVM_TEST_ABORT_AT=POINT, then cut the power (no sync)
#   cvm.probe_pcr7      only print "cvm-pcr7 HEX" (the host seals the
#                       convert-import disks to it before the chain starts)
# Result lines for the host: "cvm-injected POINT RC", "cvm-recovered POINT
# yes|no", "cvm-intact POINT yes|no", "cvm-opened-with POINT tpm2|key|none".

. /files/growroot-lib.sh

point_dev() { # the disk of fault point $1
        local w
        for w in $POINTS; do
                [ "${w%=*}" = "$1" ] && { echo "${w##*=}"; return 0; }
        done
        return 1
}
count_fails() {
        local n
        n=$(grep -c '^fail$' "$CVM_RESULTS" 2>/dev/null)
        echo "${n:-0}"
}
slot_count() {
        cryptsetup luksDump "/dev/${1}1" | grep -c -E '^  [0-9]+: luks2'
}
convert_import() { # the unit's first command: a no-op without an import token
        cvm-enroll convert-import --root="/mnt/$1" -q
}
enroll_tpm2() { # enroll_tpm2 DEV: the unit's first command, keydata on the root fs
        cvm-enroll tpm2 --root="/mnt/$1" --pcrs=7 --unlock-keydata="/mnt/$1/cc_growpart_keydata" -q
}
wipe_temporary() {
        cvm-enroll wipe-temporary --root="/mnt/$1" --keydata="/mnt/$1/cc_growpart_keydata" -q
}
authcheck() {
        cvm-authcheck --host-keys-dir=/etc/ssh --console=/dev/console -q
}
intact() { # the image's files (the key file is not one: the job deletes it)
        (cd "/mnt/$1" && sha256sum -c /files/sums >/dev/null)
}

wait_for /dev/tpmrm0
if cmdline_arg cvm.probe_pcr7 >/dev/null; then
        pcr7=$(tr A-F a-f </sys/class/tpm/tpm0/pcr-sha256/7)
        echo "cvm-pcr7 $pcr7"
        check "PCR 7 readable" test -n "$pcr7"
        exit 0
fi
chmod 600 /etc/ssh/ssh_host_*_key

if point=$(cmdline_arg cvm.verify); then
        fails_before=$(count_fails)
        case $point in
        authcheck:*)
                # /run is a tmpfs: what the cut left there died with it.
                check_fails "after a cut at $point: no evidence survives the power cut" \
                        test -e /run/cvm-authcheck/evidence.json
                check "after a cut at $point: cvm-authcheck publishes evidence" authcheck
                check "after a cut at $point: evidence written" test -s /run/cvm-authcheck/evidence.json
                echo "cvm-intact $point yes"
                echo "cvm-opened-with $point n/a"
                ;;
        *)
                dev=$(point_dev "$point")
                wait_for "/dev/${dev}1"
                how=none
                if tpm_open "$dev" >/dev/null 2>&1; then
                        how=tpm2
                elif gr_open_keyfile "$dev"; then
                        how=key
                fi
                echo "cvm-opened-with $point $how"
                check "after a cut at $point: the volume opens with some key ($how)" test "$how" != none
                check "after a cut at $point: mounts" gr_mount "$dev"
                ok_files=no
                intact "$dev" && ok_files=yes
                echo "cvm-intact $point $ok_files"
                check_eq "after a cut at $point: files intact (sha256)" yes "$ok_files"
                check "after a cut at $point: cvm-enroll convert-import (as the unit runs it) succeeds" \
                        convert_import "$dev"
                check "after a cut at $point: cvm-enroll tpm2 (as the unit runs it) succeeds" enroll_tpm2 "$dev"
                check "after a cut at $point: cvm-enroll wipe-temporary succeeds" wipe_temporary "$dev"
                # A cut between the new keyslot and its token (tpm2:keyslot-added)
                # leaves that keyslot without a token; its secret never left
                # the dead process's memory, so nothing opens it, and nothing
                # can tell it from a passphrase slot to remove it. The rerun
                # enrolls a fresh slot: two slots then, else one (for an
                # offline-sealed disk: seal-offline's slot, now converted).
                want_slots=1
                [ "$point" = tpm2:keyslot-added ] && want_slots=2
                echo "cvm-slots $point $(slot_count "$dev")"
                check_eq "after a cut at $point: keyslots left" "$want_slots" "$(slot_count "$dev")"
                check_eq "after a cut at $point: exactly one token (the TPM's)" 1 \
                        "$(cryptsetup luksDump "/dev/${dev}1" | sed -n '/^Tokens:/,/^Digests:/p' | grep -c 'systemd-tpm2')"
                check_fails "after a cut at $point: no cvm-tpm2-import token left" \
                        sh -c "cryptsetup luksDump /dev/${dev}1 | grep cvm-tpm2-import"
                check_fails "after a cut at $point: keyslot 0 (the legacy key's) gone" \
                        sh -c "cryptsetup luksDump /dev/${dev}1 | grep -E '^  0: luks2'"
                check_fails "after a cut at $point: legacy key file gone" test -e "/mnt/$dev/cc_growpart_keydata"
                check_fails "after a cut at $point: legacy key no longer opens" \
                        cryptsetup open --test-passphrase --key-file /files/key "/dev/${dev}1"
                check "after a cut at $point: the TPM2 token opens the volume" cvm-enroll check --device "/dev/${dev}1" -q
                check "after a cut at $point: files still intact" intact "$dev"
                umount "/mnt/$dev"
                cryptsetup close "gr-$dev"
                ;;
        esac
        recovered=no
        [ "$(count_fails)" = "$fails_before" ] && recovered=yes
        echo "cvm-recovered $point $recovered"
fi

if point=$(cmdline_arg cvm.abort_at); then
        case $point in
        authcheck:*)
                CVM_TEST_ABORT_AT=$point authcheck >/run/abort.out 2>/run/abort.err
                ;;
        *)
                dev=$(point_dev "$point")
                wait_for "/dev/${dev}1"
                check "$dev: the image's key opens the volume" gr_open_keyfile "$dev"
                check "$dev: mounts" gr_mount "$dev"
                case $point in
                convert-import:*)
                        check "$dev: an offline-sealed import token to convert" \
                                sh -c "cryptsetup luksDump /dev/${dev}1 | grep cvm-tpm2-import"
                        CVM_TEST_ABORT_AT=$point convert_import "$dev" >/run/abort.out 2>/run/abort.err ;;
                tpm2:*)
                        CVM_TEST_ABORT_AT=$point enroll_tpm2 "$dev" >/run/abort.out 2>/run/abort.err ;;
                wipe:*)
                        # The image builder's temporary TPM token as well as the
                        # legacy key file: wipe-temporary then removes a slot
                        # and a token.
                        check "$dev: a temporary TPM2 token (as an image builder leaves it)" \
                                cvm-enroll tpm2 --device "/dev/${dev}1" --temporary --pcrs=7 --unlock-key-file=/files/key -q
                        check "$dev: cvm-enroll tpm2 (before the cut)" enroll_tpm2 "$dev"
                        # The enrollment is set-up here, not under test: make it durable.
                        sync
                        CVM_TEST_ABORT_AT=$point wipe_temporary "$dev" >/run/abort.out 2>/run/abort.err
                        ;;
                esac
                ;;
        esac
        rc=$?
        echo "cvm-injected $point $rc"
        check_eq "died at $point" 134 "$rc"
        check "... and said where" grep -F "test hook: aborting at '$point'" /run/abort.err
        echo "cvm-guest: $(grep -c '^ok$' "$CVM_RESULTS" 2>/dev/null) passed, $(count_fails) failed before the cut"
        power_cut
fi
