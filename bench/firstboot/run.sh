#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Benchmark: what the first boot pays for growing the root and publishing the
# host keys, cloud-init's way against ours, in full Debian 12 guests
# (tests/vm/debian/mkguest.sh: systemd 252, cloud-init 22.4, NoCloud seed,
# qemu TCG, 1 vCPU, 1 GiB, swtpm with an Azure-style AK), same user-data,
# 2 GiB root image on a bigger disk:
#
#   A  cloud-init in charge, as CVM images ship it today: the CVM image
#      (deb_cvm_image: LUKS2 root, image key in slot 0 and in the legacy
#      /cc_growpart_keydata) with our units off (cvm.growroot=0
#      cvm.enroll=0, cvm-authcheck disabled, our cloud.cfg.d drop-in
#      removed): config-growpart (growpart + `cryptsetup resize` with the
#      key file, then the slot is killed), config-resizefs (resize2fs),
#      config-keys-to-console
#   B  image kind (a), the same CVM image as the package ships it: our
#      units (cvm-growroot-initrd in the initrd, cvm-enroll-firstboot,
#      cvm-enroll-finalize, cvm-growroot, cvm-authcheck) + the
#      90-cvm-firstboot.cfg drop-in that turns those three cloud-init
#      modules off (they still run, as no-ops: counted)
#   C  image kind (b): cloud-init in charge with our module
#      (90-cvm-firstboot-module.cfg: config-cvm_firstboot grow + evidence),
#      on a PLAIN ext4 root (kept because it is cheap; the module's LUKS2
#      path is not measured here; the vm test vm-cloudinit-module-luks
#      runs it in full guests)
#
# For each guest it prints cloud-init analyze blame and systemd-analyze
# blame for the relevant entries, systemd-analyze critical-chain
# ssh.service, when sshd was up, the partition/filesystem sizes (both must
# have grown), per cvm unit its wall time (start to active) and CPU time
# (cgroup), their total, whether a cvm unit is on the critical chain to
# sshd, and the ratios B/A and C/A; then checks the goal: all cvm units
# together <= 1.1 s, none on the critical path to sshd. The journal of the
# cvm units (short-monotonic, debug level) and each unit's own critical
# chain go to $VM_TMP/KIND-ROUND.profile; BENCH_PROFILE=1 prints B's.
#
# Run as root from the source tree:
#     CVM_BUILDDIR=$PWD/build bench/firstboot/run.sh
# or meson test -C build --benchmark firstboot (never part of `meson test`).
# Knobs: BENCH_ROUNDS (1; boots of each guest, ≈ 2 min each under TCG),
# BENCH_DISK_MIB (2560), BENCH_PROFILE (0), BENCH_FLOOR (0; 1: in guest B
# after its first boot, what the reference tools cost for the mandatory
# work there, see guest_floor). Exit 0 when the measurement ran
# (goals missed are reported, not failed), 1 when a boot broke, 77/99 as
# the tests.
# shellcheck disable=SC2016 # awk programs in single quotes, on purpose
set -eu -o pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
. "$src/tests/lib/common.sh"
. "$src/tests/lib/swtpm.sh"
. "$src/tests/lib/attest.sh"
. "$src/tests/vm/lib/vm.sh"
. "$src/tests/vm/debian/mkguest.sh"
. "$src/tests/vm/debian/cloudinit-lib.sh"

rounds=${BENCH_ROUNDS:-1}
disk_mib=${BENCH_DISK_MIB:-2560}
profile=${BENCH_PROFILE:-0}
floor=${BENCH_FLOOR:-0}
MIB=$((1024 * 1024))
CVM_UNITS="cvm-growroot-initrd cvm-enroll-firstboot cvm-enroll-finalize cvm-growroot cvm-authcheck"

require_cmd ssh ssh-keygen mkfs.vfat mcopy tpm2_createak openssl cryptsetup cpio dpkg-buildpackage
vm_setup bench-firstboot
CI_SSH_KEY=$VM_TMP/id_ed25519
ssh-keygen -q -t ed25519 -N '' -C cvm-bench -f "$CI_SSH_KEY"
ca=$VM_TMP/ca
attest_ca "$ca" cloud-vtpm-ca
export CVM_DEB_DISK_MIB=$disk_mib CVM_DEB_ROOT_MIB=2048

# A: the CVM image without our units; cloud-init's growpart finds the
# legacy key file and its drop-in is not there to turn it off.
customize_a() {
        local root=$1
        deb_chroot "$root" systemctl disable cvm-enroll-firstboot.service cvm-enroll-finalize.service \
                cvm-growroot.service cvm-authcheck.service >/dev/null 2>&1
        rm -f "$root/etc/cloud/cloud.cfg.d/90-cvm-firstboot.cfg"
}
# B: debug logs of our tools in the journal, for the profile.
customize_b() {
        local root=$1 u
        for u in $CVM_UNITS; do
                mkdir -p "$root/etc/systemd/system/$u.service.d"
                printf '[Service]\nEnvironment=CVM_LOG_LEVEL=debug\n' >"$root/etc/systemd/system/$u.service.d/90-bench.conf"
        done
}
customize_c() {
        ci_install_cvm "$1"
        install -m 0644 "$CVM_SRCDIR/dist/cloud-init/90-cvm-firstboot-module.cfg" "$1/etc/cloud/cloud.cfg.d/"
}

# guest_report: everything measured, from inside the guest once the boot is
# over, as "key value" lines and the raw analyze output.
guest_report() {
        ci_ssh 'cloud-init status --wait >/dev/null; systemctl is-system-running --wait >/dev/null
                echo "== cloud-init analyze blame"
                cloud-init analyze blame | grep -E "config-(growpart|resizefs|keys-to-console|cvm_firstboot)\)"
                echo "== systemd-analyze blame"
                systemd-analyze blame | grep -E " (cvm-[a-z-]+|cloud-[a-z-]+|ssh|systemd-cryptsetup@.*)\.service$"
                echo "== failed units"
                systemctl --failed --plain --no-legend
                echo "== systemd-analyze critical-chain ssh.service"
                systemd-analyze critical-chain ssh.service
                echo "== values"
                for u in '"$CVM_UNITS"'; do
                        # start to active, or to failed (StateChange): a failed run costs time too
                        systemctl show -p InactiveExitTimestampMonotonic -p ActiveEnterTimestampMonotonic \
                                -p StateChangeTimestampMonotonic -p ActiveState "$u.service" | tr "\n" " " |
                        awk -v u="$u" "{ for (i = 1; i <= NF; i++) { split(\$i, kv, \"=\"); v[kv[1]] = kv[2] }
                                         s = v[\"InactiveExitTimestampMonotonic\"]
                                         e = v[\"ActiveState\"] == \"active\" ? v[\"ActiveEnterTimestampMonotonic\"] : v[\"StateChangeTimestampMonotonic\"]
                                         ms = s > 0 ? (e - s) / 1000 : 0
                                         printf \"unit-ms %s %d %s\n\", u, ms, v[\"ActiveState\"] }"
                        # CPU time (cgroup accounting): on 1 vCPU the wall time above
                        # also holds every unit started in parallel with it
                        [ "$u" = cvm-growroot-initrd ] ||
                        systemctl show -p CPUUsageNSec --value "$u.service" |
                                awk -v u="$u" "{ printf \"unit-cpu-ms %s %d\n\", u, \$1 / 1e6 }"
                done
                # The initrd unit: PID 1 of the real root does not know its run;
                # the journal does ("Starting" to "Finished"; that includes
                # the wait for udev to create the disk, which cryptsetup waits
                # for as well).
                journalctl -b -o short-monotonic -u cvm-growroot-initrd.service --no-pager |
                        awk "/^\[/ { t = \$2; sub(/\]/, \"\", t) }
                             / Starting cvm-growroot-initrd/ { s = t } / Finished cvm-growroot-initrd/ { e = t }
                             END { printf \"initrd-journal-ms cvm-growroot-initrd %d\n\", s && e ? (e - s) * 1000 : 0 }"
                # and its CPU time, which PID 1 logs when the initrd unit stops
                # (seen in one run, missing in the next: then none is printed)
                journalctl -b -o cat -u cvm-growroot-initrd.service --no-pager |
                        sed -n "s/.*Consumed \([0-9.]*\)s CPU time.*/\1/p" | tail -n 1 |
                        awk "{ printf \"unit-cpu-ms cvm-growroot-initrd %d\n\", \$1 * 1000 }"
                cloud-init analyze blame | awk "/config-(growpart|resizefs|keys-to-console|cvm_firstboot)\)/ {
                        t = \$1; sub(/s\$/, \"\", t); n = \$2; gsub(/[()]/, \"\", n); sub(/.*\//, \"\", n)
                        ms[n] += t * 1000 } END { for (n in ms) printf \"ci-ms %s %d\n\", n, ms[n] }"
                printf "sshd-up-s %s\n" "$(systemctl show -p ActiveEnterTimestampMonotonic ssh.service |
                        awk -F= "{ printf \"%.1f\", \$2 / 1e6 }")"
                root=/dev/vda1; [ -e /dev/mapper/root ] && root=/dev/mapper/root
                printf "sizes %s %s %s\n" "$(blockdev --getsize64 /dev/vda)" "$(blockdev --getsize64 /dev/vda1)" \
                        "$(dumpe2fs -h $root 2>/dev/null | awk -F: "/^Block count/ { c = \$2 } /^Block size/ { s = \$2 } END { printf \"%.0f\\n\", c * s }")"'
}

# guest_profile: where the cvm units spent their time (for the reader).
guest_profile() {
        ci_ssh 'for u in '"$CVM_UNITS"'; do
                        echo "== $u"
                        systemctl show -p InactiveExitTimestampMonotonic -p ExecMainStartTimestampMonotonic \
                                -p ExecMainExitTimestampMonotonic -p ActiveEnterTimestampMonotonic \
                                -p CPUUsageNSec -p Result "$u.service" | tr "\n" " "; echo
                        systemd-analyze critical-chain "$u.service" 2>&1 | tail -n +3
                done
                echo "== journal (cvm units, sshd, host keys, cloud-init)"
                journalctl -b -o short-monotonic --no-pager -u "cvm-*" -u ssh.service \
                        -u cloud-init-local.service -u cloud-init.service -u systemd-cryptsetup@root.service
                echo "== systemd-analyze time"
                systemd-analyze time'
}

# guest_floor: the floor under the goal "all cvm units together <= 1.1 s":
# what systemd's own tools cost for the work that cannot be skipped, in the
# same guest (B, after its first boot: same vCPU, same swtpm), on a scratch
# LUKS2 image on a loop device: a TPM2 enrollment bound to PCR 7
# (systemd-cryptenroll) and a TPM2-token unlock (systemd-cryptsetup attach,
# as the initrd does; cryptsetup open --token-only, systemd's token plugin).
# Each timed with bash's `time`: wall, and user + sys CPU of the command and
# its children. The scratch passphrase slot uses PBKDF2 at 1000 iterations,
# as the image's build key does; the TPM2 slot gets what cryptenroll picks.
# The scratch key is no secret of the guest (PASSWORD= is how
# systemd-cryptenroll 252 takes it without a prompt).
guest_floor() {
        ci_ssh bash -s <<'EOF'
set -eu -o pipefail
TIMEFORMAT='%R %U %S'
d=$(mktemp -d /var/tmp/bench-floor.XXXXXX)
loop=
cleanup() {
        cryptsetup close bench-floor 2>/dev/null || :
        [ -z "$loop" ] || losetup -d "$loop" || :
        rm -rf "$d"
}
trap cleanup EXIT
truncate -s 64M "$d/img"
head -c 32 /dev/urandom | base64 -w0 >"$d/key"
cryptsetup luksFormat -q --type luks2 --pbkdf pbkdf2 --pbkdf-force-iterations 1000 --key-file "$d/key" "$d/img"
loop=$(losetup --show -f "$d/img")
# timed NAME CMD...: "floor NAME WALL_MS CPU_MS", or "floor-failed NAME: error"
timed() {
        local name=$1 out
        shift
        if ! out=$({ time "$@" >"$d/out" 2>"$d/err"; } 2>&1); then
                echo "floor-failed $name: $(tail -n 1 "$d/err")"
                return 0
        fi
        awk -v n="$name" -v o="$out" 'BEGIN { split(o, t, " "); printf "floor %s %d %d\n", n, t[1] * 1000, (t[2] + t[3]) * 1000 }'
}
export PASSWORD
PASSWORD=$(cat "$d/key")
timed systemd-cryptenroll-tpm2-pcr7 systemd-cryptenroll --tpm2-device=auto --tpm2-pcrs=7 "$loop"
unset PASSWORD
timed systemd-cryptsetup-attach-tpm2 /lib/systemd/systemd-cryptsetup attach bench-floor "$loop" - tpm2-device=auto,headless=1
[ -e /dev/mapper/bench-floor ] && echo "floor-opened systemd-cryptsetup-attach-tpm2"
cryptsetup close bench-floor 2>/dev/null || :
timed cryptsetup-open-token-only cryptsetup open --token-only "$loop" bench-floor
[ -e /dev/mapper/bench-floor ] && echo "floor-opened cryptsetup-open-token-only"
cryptsetup close bench-floor 2>/dev/null || :
EOF
}

# boot_guest KIND ROUND: build, boot, pin the host key the way that kind of
# guest offers it, report, power off. Leaves the report in $VM_TMP/KIND-ROUND.txt.
boot_guest() {
        local kind=$1 r=$2 dir=$VM_TMP/guest-$1 ud=$VM_TMP/user-data-$1 port cmdline
        rm -rf "$dir"
        case $kind in
        a | b) deb_cvm_image "$dir" "customize_$kind" ;;
        c)
                deb_guest_image "$dir" "customize_$kind"
                truncate -s $((disk_mib * MIB)) "$dir/disk.raw"
                ;;
        esac
        cmdline=$(cat "$dir/cmdline")
        [ "$kind" != a ] || cmdline="$cmdline cvm.growroot=0 cvm.enroll=0"
        ci_userdata_base "$(cat "$CI_SSH_KEY.pub")" >"$ud"
        ci_seed "$VM_TMP/seed-$kind.img" "bench-$kind-$r" "$ud"
        # A fresh TPM per boot, provisioned as Azure does (AK + certificate).
        rm -rf "$VM_TMP/tpm-$kind"
        swtpm_start_tcp "$VM_TMP/tpm-$kind"
        attest_provision_azure "$VM_TMP/ak-$kind" "$ca" cloud-vtpm-ca >/dev/null
        swtpm_stop "$SWTPM_PID"
        vm_start --kernel "$dir/vmlinuz" --initrd "$dir/initrd.img" --cmdline "$cmdline" \
                --disk "$dir/disk.raw" --disk "$VM_TMP/seed-$kind.img" --tpm-state "$VM_TMP/tpm-$kind" \
                --net --timeout 900 --done 'reboot: Power down'
        CI_KNOWN_HOSTS=$VM_TMP/known_hosts-$kind
        port=$VM_SSH_PORT
        if [ "$kind" = a ]; then
                # cloud-init's keys-to-console: the host keys between its
                # markers on the (unauthenticated) console.
                if ! vm_wait_log '^-----END SSH HOST KEY KEYS-----' 400 || ! ci_wait_sshd; then
                        vm_kill
                        die "guest $kind: no host keys on the console or no sshd (log: $VM_LOG)"
                fi
                tr -d '\r' <"$VM_LOG" | sed -n '/^-----BEGIN SSH HOST KEY KEYS-----/,/^-----END SSH HOST KEY KEYS-----/p' |
                        grep -E '^ssh-' | sed "s/^/[127.0.0.1]:$port /" >"$CI_KNOWN_HOSTS"
        else
                if ! vm_wait_log '^-----END CVM HOST KEY ATTESTATION-----' 400 || ! ci_wait_sshd; then
                        vm_kill
                        die "guest $kind: no evidence on the console or no sshd (log: $VM_LOG)"
                fi
                if ! ci_keyscan "$VM_TMP/offered-$kind" ||
                        ! "$CVM_VERIFY_HOST" -q --console-log="$VM_LOG" --ca="$ca/cloud-vtpm-ca.pem" \
                                --host="127.0.0.1:$port" --host-key-file="$VM_TMP/offered-$kind" \
                                known-hosts >"$CI_KNOWN_HOSTS"; then
                        vm_kill
                        die "guest $kind: no host keys from ssh-keyscan, or cvm-verify-host refused the evidence"
                fi
        fi
        guest_report >"$VM_TMP/$kind-$r.txt" || { vm_kill; die "guest $kind: report over ssh failed"; }
        if [ "$floor" = 1 ] && [ "$kind" = b ]; then
                guest_floor >"$VM_TMP/b-$r.floor" 2>&1 || echo "floor-failed guest_floor: exit $?" >>"$VM_TMP/b-$r.floor"
        fi
        guest_profile >"$VM_TMP/$kind-$r.profile" 2>&1 || :
        ci_ssh systemctl --no-block poweroff || :
        vm_wait || vm_kill
}

# val FILE KEY [NAME]: the value of a "KEY [NAME] VALUE [...]" line (0 if none).
val() {
        awk -v k="$2" -v n="${3:-}" '$1 == k && (n == "" ? NF == 2 : $2 == n) { print n == "" ? $2 : $3; f = 1 } END { if (!f) print 0 }' "$1"
}

median() {
        sort -n | awk '{ a[NR] = $1 } END { print NR ? a[int((NR + 1) / 2)] : 0 }'
}

# unit_wall FILE UNIT: the unit's wall time (the initrd unit's from the journal).
unit_wall() {
        if [ "$2" = cvm-growroot-initrd ]; then val "$1" initrd-journal-ms "$2"; else val "$1" unit-ms "$2"; fi
}

for r in $(seq 1 "$rounds"); do
        for kind in a b c; do
                t0=$(_vm_now)
                boot_guest "$kind" "$r"
                echo "bench: guest $kind round $r: $(_vm_elapsed "$t0") s (build + boot + report)"
        done
done

echo
for kind in a b c; do
        case $kind in
        a) echo "=== A: LUKS2 root, cloud-init growpart (key file) + resizefs + keys-to-console (round 1) ===" ;;
        b) echo "=== B: LUKS2 root, cvm-firstboot units, cloud-init modules off (round 1) ===" ;;
        c) echo "=== C: plain ext4 root, cloud-init with the cvm_firstboot module (round 1) ===" ;;
        esac
        f=$VM_TMP/$kind-1.txt
        sed -n '/^== cloud-init/,/^== values/p' "$f" | sed '$d'
        read -r _ d p fs < <(grep '^sizes ' "$f")
        echo "disk $d, partition $p, filesystem $fs bytes; sshd up at $(val "$f" sshd-up-s) s"
        # the filesystem fills the partition, less the 32 MiB LUKS2 header when encrypted
        if [ "$p" -lt $(((disk_mib - 2) * MIB - 33 * 512)) ] || [ $((p - fs)) -ge $((33 * MIB)) ]; then
                echo "bench: guest $kind did not grow partition and filesystem to the disk" >&2
                exit 1
        fi
        if [ "$kind" = b ]; then
                echo "per cvm unit (wall = start to active, CPU = cgroup; the initrd unit: both from its journal, CPU 0 when PID 1 logged no \"Consumed\" line for it):"
                for u in $CVM_UNITS; do
                        printf '  %-22s wall %6d ms  CPU %6d ms\n' "$u" "$(unit_wall "$f" "$u")" "$(val "$f" unit-cpu-ms "$u")"
                done
        fi
        # the profile of our units: their journal without cloud-init's and
        # sshd's chatter
        [ "$profile" = 0 ] || [ "$kind" != b ] || {
                echo "--- profile"
                grep -v -E 'ci-info|cloud-init\[|useradd\[|groupadd\[|passwd\[|sshd\[' "$VM_TMP/$kind-1.profile"
        }
        echo
done

if [ "$floor" = 1 ]; then
        echo "=== floor: the reference tools doing the mandatory work in guest B (after its first boot; scratch LUKS2 on loop) ==="
        for r in $(seq 1 "$rounds"); do
                awk -v r="$r" '$1 == "floor" { printf "  round %s %-32s wall %6d ms  CPU %6d ms\n", r, $2, $3, $4; next }
                               { print "  round " r " " $0 }' "$VM_TMP/b-$r.floor"
        done
        echo
fi

# Per round: A = the three cloud-init modules; B = the cvm units + what is
# left of those modules (no-ops); C = the module's two runs.
for r in $(seq 1 "$rounds"); do
        fa=$VM_TMP/a-$r.txt fb=$VM_TMP/b-$r.txt fc=$VM_TMP/c-$r.txt
        echo $(($(val "$fa" ci-ms config-growpart) + $(val "$fa" ci-ms config-resizefs) +
                $(val "$fa" ci-ms config-keys-to-console))) >>"$VM_TMP/added-a"
        units=0 cpu=0
        for u in $CVM_UNITS; do
                units=$((units + $(unit_wall "$fb" "$u")))
                cpu=$((cpu + $(val "$fb" unit-cpu-ms "$u")))
        done
        echo "$units" >>"$VM_TMP/units-b"
        echo "$cpu" >>"$VM_TMP/cpu-b"
        echo $((units + $(val "$fb" ci-ms config-growpart) + $(val "$fb" ci-ms config-resizefs) +
                $(val "$fb" ci-ms config-keys-to-console))) >>"$VM_TMP/added-b"
        val "$fc" ci-ms config-cvm_firstboot >>"$VM_TMP/added-c"
        for k in a b c; do val "$VM_TMP/$k-$r.txt" sshd-up-s >>"$VM_TMP/sshd-$k"; done
        # on the critical path to sshd: any cvm unit in B's chain
        if sed -n '/^== systemd-analyze critical-chain/,/^== values/p' "$fb" | grep -E 'cvm-' >/dev/null; then
                echo "yes" >>"$VM_TMP/crit-b"
        else
                echo "no" >>"$VM_TMP/crit-b"
        fi
done
a=$(median <"$VM_TMP/added-a")
b=$(median <"$VM_TMP/added-b")
ub=$(median <"$VM_TMP/units-b")
cb=$(median <"$VM_TMP/cpu-b")
c=$(median <"$VM_TMP/added-c")
echo "=== time added to first boot (median of $rounds round(s), TCG, 1 vCPU) ==="
echo "A cloud-init growpart + resizefs + keys-to-console (LUKS2): $a ms"
echo "B cvm units, all together (LUKS2):  $ub ms wall, $cb ms CPU (with the no-op cloud-init modules: $b ms wall)"
echo "C cloud-init cvm_firstboot module (plain ext4): $c ms"
awk -v a="$a" -v b="$b" -v c="$c" -v cb="$cb" 'BEGIN { if (a > 0) printf "ratio B/A %.2fx (B CPU/A %.2fx), C/A %.2fx\n", b / a, cb / a, c / a }'
echo "sshd up at (s since kernel start): A $(median <"$VM_TMP/sshd-a"), B $(median <"$VM_TMP/sshd-b"), C $(median <"$VM_TMP/sshd-c")"
crit=$(sort -u "$VM_TMP/crit-b" | tr '\n' ' ')
echo "goal: all cvm units together <= 1100 ms: wall $ub ms -> $([ "$ub" -le 1100 ] && echo met || echo MISSED), CPU $cb ms -> $([ "$cb" -le 1100 ] && echo met || echo MISSED)"
echo "goal: no cvm unit on the critical chain to ssh.service: $([ "$crit" = "no " ] && echo met || echo "MISSED (in the chain: $crit)")"
echo "machine: $(uptime)"
