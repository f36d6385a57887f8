# SPDX-License-Identifier: LGPL-2.1-or-later
# Guest side of bench/growroot/run.sh (busybox ash, runs as /scenario.sh).
# $DISKS lists identical disks (growroot-lib.sh format): LUKS2 + ext4 images
# grown before boot, each with keyslot 0 = the key file and keyslot 1 = a
# systemd-tpm2 token (systemd-cryptenroll on the host, PCR 16). Disk pairs
# 1..$ROUNDS are timed, ours on one and the pipeline on the other, the
# order alternating per round; the last pair runs once more under strace
# to classify what was spawned. Result lines for the host:
#   bench R METHOD WALL_US TASKS MAXRSS_KB [TPM2_COMMANDS SELF_MAXRSS_KB]
#   bench-noop METHOD WALL_US TASKS MAXRSS_KB
#   bench-start WALL_US TASKS MAXRSS_KB  (cvm-growroot --version: exec +
#                                        dynamic linking, no work)
#   bench-base NAME WALL_US TASKS MAXRSS_KB   (yardsticks: busybox true,
#                                        empty static and dynamic programs,
#                                        cryptsetup --version, cvm-enroll check,
#                                        the BENCH_BASELINE binary's grow,
#                                        no-op and --version)
#   bench-strace METHOD EXECS PROCESSES THREADS
#   bench-size DEV PART_BYTES DM_BYTES FS_BYTES
#   bench-newest-tasks COMM...           (the newest tasks after round 1's
#                                        cvm-growroot: who the extra tasks are)
#   trace-KIND LINE                      (TRACE=1: strace -f -tt -T of one
#                                        more grow, its no-op rerun and a
#                                        `cryptsetup --key-file - resize`)

. /files/growroot-lib.sh

# measure CMD...: run CMD under /files/rusage-wrap (bench/growroot/
# rusage-wrap.c: fork + exec + wait4, CLOCK_MONOTONIC, /proc/stat
# "processes"), set RC, WALL_US, TASKS (CMD, what it spawned, kernel
# threads created meanwhile) and MAXRSS_KB (the largest process's peak);
# CMD's stdout goes to /run/out, its stderr to /run/err.
measure() {
        /files/rusage-wrap /run/rusage "$@" >/run/out 2>/run/err || {
                cat /run/err
                return 1
        }
        read -r WALL_US TASKS MAXRSS_KB RC </run/rusage
        [ "$RC" = 0 ] || cat /run/err
}

ours() { # DEV [ROUND]
        measure cvm-growroot --root="/mnt/$1" --json=short
        check_eq "round $2: cvm-growroot on $1 exit status" 0 "$RC"
        check_eq "round $2: cvm-growroot on $1 grew it with the TPM-unsealed key" "true tpm2" \
                "$(json_step_field "" changed </run/out) $(json_step_field luks_step unlocked_with </run/out)"
        echo "bench $2 ours $WALL_US $TASKS $MAXRSS_KB $(json_step_field luks_step tpm2_commands </run/out)" \
                "$(json_step_field "" maxrss_kb </run/out)"
}

theirs() { # DEV [ROUND]
        measure sh /files/pipeline.sh grow "$1"
        check_eq "round $2: the pipeline on $1 exit status" 0 "$RC"
        # The process count leaves out this sh (cloud-init's python is the parent there).
        echo "bench $2 theirs $WALL_US $((TASKS - 1)) $MAXRSS_KB"
}

sizes() {
        echo "bench-size $1 $(part_bytes "$1") $(dm_bytes "gr-$1") $(fs_bytes "$1")"
}

set -- $(gr_devs)
wait_for /dev/tpmrm0
for dev in "$@"; do
        wait_for "/dev/${dev}1"
        check "$dev: key file opens LUKS2" gr_open_keyfile "$dev"
        check "$dev: ext4 mounts" gr_mount "$dev"
done

# --- growth, ROUNDS rounds on fresh identical disks ------------------------
# The BENCH_BASELINE binary grows a third disk of each round, right after
# ours in odd rounds and right before it in even ones.
baseline_grow() { # DEV ROUND
        [ -n "$1" ] || return 0
        measure /files/cvm-growroot-baseline --root="/mnt/$1" --json=short
        check_eq "round $2: the baseline binary grew $1" "0 true" "$RC $(json_step_field "" changed </run/out)"
        echo "bench-base baseline-grow $WALL_US $TASKS $MAXRSS_KB"
        sizes "$1"
        check "round $2: baseline's disk unmounts" umount "/mnt/$1"
}

r=1
while [ "$r" -le "$ROUNDS" ]; do
        a=$1 b=$2 c=
        shift 2
        if [ -x /files/cvm-growroot-baseline ]; then
                c=$1
                shift
        fi
        if [ $((r % 2)) = 1 ]; then
                ours "$a" "$r"
                baseline_grow "$c" "$r"
                # What else the kernel started meanwhile (tasks that outlive
                # the run: kernel threads; cvm-growroot itself forks nothing).
                if [ "$r" = 1 ]; then
                        ls /proc | grep -E '^[0-9]+$' | sort -n | tail -n 10 >/run/newest
                        printf 'bench-newest-tasks'
                        while read -r p; do
                                read -r c 2>/dev/null <"/proc/$p/comm" && printf ' %s' "$c"
                        done </run/newest
                        echo
                fi
                theirs "$b" "$r"
        else
                theirs "$b" "$r"
                baseline_grow "$c" "$r"
                ours "$a" "$r"
        fi
        sizes "$a"
        sizes "$b"
        check "round $r: files intact on both" sh -c "cd /mnt/$a && sha256sum -c /files/sums >/dev/null && cd /mnt/$b && sha256sum -c /files/sums >/dev/null"
        # Stops ext4's background zeroing of the new inode tables, which
        # would slow down the next rounds (run.sh).
        check "round $r: both unmount" umount "/mnt/$a" "/mnt/$b"
        last_a=$a last_b=$b
        r=$((r + 1))
done

# --- no-op reruns on the grown disks of the last round ---------------------
# noinit_itable: no background zeroing meanwhile (nothing grows here).
GR_MOUNT_OPTS=noinit_itable
for dev in "$last_a" "$last_b"; do
        check "$dev: mounts again for the no-op runs" gr_mount "$dev"
done
GR_MOUNT_OPTS=
# ours and the baseline (BENCH_BASELINE) alternate who runs first after
# the pipeline: under TCG a run is cheaper when the code it executes was
# just translated for another process (shared libc and ld.so pages).
noop_ours() {
        measure cvm-growroot --root="/mnt/$last_a" --json=short
        check_eq "no-op $i: cvm-growroot changed nothing" "0 false" "$RC $(json_step_field "" changed </run/out)"
        echo "bench-noop ours $WALL_US $TASKS $MAXRSS_KB"
        measure cvm-growroot --version
        echo "bench-start $WALL_US $TASKS $MAXRSS_KB"
}
# noop_other BIN MNT LABEL: another cvm-growroot binary's no-op rerun on
# MNT and its --version, as "bench-base LABEL-noop" / "LABEL-version".
noop_other() {
        [ -x "$1" ] || return 0
        measure "$1" --root="$2" --json=short
        check_eq "no-op $i: the $3 binary changed nothing" "0 false" "$RC $(json_step_field "" changed </run/out)"
        echo "bench-base $3-noop $WALL_US $TASKS $MAXRSS_KB"
        measure "$1" --version
        echo "bench-base $3-version $WALL_US $TASKS $MAXRSS_KB"
}
noop_baseline() {
        noop_other /files/cvm-growroot-baseline "/mnt/$last_a" baseline
}
i=0
while [ $i -lt "$NOOP_RUNS" ]; do
        measure sh /files/pipeline.sh noop "$last_b"
        check_eq "no-op $i: pipeline exit status" 0 "$RC"
        echo "bench-noop theirs $WALL_US $((TASKS - 1)) $MAXRSS_KB"
        if [ $((i % 2)) = 0 ]; then
                noop_ours
                noop_baseline
        else
                noop_baseline
                noop_ours
        fi
        # Yardsticks for what an exec costs in this guest: a static binary,
        # the floor (an empty main(), static and dynamically linked), and
        # one dynamically linked tool of the pipeline.
        measure /usr/bin/busybox true
        echo "bench-base busybox-true $WALL_US $TASKS $MAXRSS_KB"
        measure /files/empty-static
        echo "bench-base empty-static $WALL_US $TASKS $MAXRSS_KB"
        measure /files/empty-dynamic
        echo "bench-base empty-dynamic $WALL_US $TASKS $MAXRSS_KB"
        measure cryptsetup --version
        echo "bench-base cryptsetup--version $WALL_US $TASKS $MAXRSS_KB"
        # The TPM part of ours: unseal + open the token's keyslot, no resize.
        measure cvm-enroll check --device "/dev/${last_a}1" -q
        echo "bench-base cvm-enroll-check $WALL_US $TASKS $MAXRSS_KB"
        i=$((i + 1))
done

# --- what each spawns, under strace (not timed) ----------------------------
# strace -f follows every task; -e trace=process logs fork/vfork/clone(3),
# execve and exit(_group). Tasks = distinct pids - 1 (the traced command);
# threads = clone calls with CLONE_THREAD; execs = execve calls that
# returned 0 (busybox sh's PATH search fails a few first).
strace_count() { # METHOD CMD...
        local m=$1 pids threads execs
        shift
        strace -f -q -o /run/strace.log -e trace=process "$@" >/dev/null 2>&1
        pids=$(awk '{ print $1 }' /run/strace.log | sort -u | wc -l)
        threads=$(grep -c 'CLONE_THREAD' /run/strace.log)
        execs=$(grep 'execve' /run/strace.log | grep -c '= 0$')
        echo "bench-strace $m $execs $((pids - 1 - threads)) $threads"
}
if [ $# -ge 2 ] && command -v strace >/dev/null; then
        strace_count ours cvm-growroot --root="/mnt/$1" --json=short
        strace_count theirs sh /files/pipeline.sh grow "$2"
        # Where a no-op run's time goes: the biggest gaps before a syscall
        # (strace -r: seconds since the previous one), for the report.
        strace -r -o /run/noop.trace cvm-growroot --root="/mnt/$1" >/dev/null 2>&1
        echo "noop-trace: $(wc -l </run/noop.trace) syscalls, largest gaps (s, then the syscall after it):"
        sort -n -r /run/noop.trace | head -n 12 | cut -c1-150 | sed 's/^/noop-trace /'
        check "strace round: both grew" test "$(part_bytes "$1")" -gt 1073741824 -a "$(part_bytes "$2")" -gt 1073741824
fi

# --- TRACE=1: where the time goes, syscall by syscall (not timed) ----------
# The five disks after the strace pair. 1: cvm-growroot grows it under
# strace -f -tt -T (every syscall: strace's stops inflate each one, under
# TCG by ~1 ms), then reruns on it (the no-op). 2-4: grows traced with
# --seccomp-bpf on marker syscalls only (openat, ioctl, TPM write/poll,
# prctl): few stops, so the time between markers is close to the untraced
# run's; three of them, as other VMs on the host make single runs jump.
# 5: growpart, then `cryptsetup --key-file - resize` alone.
trace_run() { # KIND STRACE-OPTION... -- CMD...
        local kind=$1
        shift
        set -- strace -f -tt -T -s 64 -o /run/trace.log "$@"
        "$@" >/run/trace.out 2>&1 </run/trace.in || {
                echo "trace $kind: exit status $?"
                cat /run/trace.out
        }
        sed "s/^/trace-$kind /" /run/trace.log
}
if [ "$TRACE" = 1 ] && [ $# -ge 7 ]; then
        : >/run/trace.in
        trace_run grow -- cvm-growroot --root="/mnt/$3" --json=short
        trace_run noop -- cvm-growroot --root="/mnt/$3" --json=short
        for dev in "$4" "$5" "$6"; do
                trace_run grow-markers --seccomp-bpf -e trace=execve,openat,ioctl,write,poll,prctl,exit_group \
                        -- cvm-growroot --root="/mnt/$dev" --json=short
        done
        growpart "/dev/$7" 1 >/dev/null
        cp /files/key /run/trace.in
        trace_run cryptsetup-resize -- cryptsetup --key-file - resize "gr-$7"
        for dev in "$3" "$4" "$5" "$6" "$7"; do
                check "trace round: $dev grew" test "$(dm_bytes "gr-$dev")" -gt 1073741824
        done
        # ld.so's own account of its startup (relocations, in TSC cycles).
        for cmd in "cvm-growroot --version" /files/empty-dynamic "cvm-growroot --root=/mnt/$3"; do
                LD_DEBUG=statistics $cmd 2>&1 >/dev/null | sed "s|^|trace-ldstats $cmd: |" | grep -E 'time|relocations' || true
        done
        # Floors: what a PBKDF2-1000 keyslot open costs (keyslot 0, the
        # key file; systemd's token slot is the same class), next to
        # cvm-enroll check (unseal + open); BENCH_TRACE_ALT (e.g. a static
        # link of cvm-growroot): its no-op and --version next to ours.
        i=0
        while [ $i -lt "$NOOP_RUNS" ]; do
                measure cryptsetup --key-file - --key-slot 0 open --test-passphrase "/dev/${3}1" </files/key
                check_eq "keyslot 0 opens with the key file" 0 "$RC"
                echo "bench-base keyslot0-test-passphrase $WALL_US $TASKS $MAXRSS_KB"
                noop_other /files/cvm-growroot-alt "/mnt/$3" alt
                measure cvm-growroot --root="/mnt/$3" --json=short
                check_eq "no-op $i: cvm-growroot changed nothing on the traced disk" "0 false" \
                        "$RC $(json_step_field "" changed </run/out)"
                echo "bench-base trace-disk-noop $WALL_US $TASKS $MAXRSS_KB"
                i=$((i + 1))
        done
        # The same without address-space randomization: qemu 7.2's TCG
        # keys its translated code by virtual address, so code mapped at a
        # new address in every process (ld.so, libc, a PIE) is translated
        # again at every exec; a static non-PIE binary reuses it. Restored
        # right after.
        echo 0 >/proc/sys/kernel/randomize_va_space
        i=0
        while [ $i -lt "$NOOP_RUNS" ]; do
                measure /files/empty-dynamic
                echo "bench-base noaslr-empty-dynamic $WALL_US $TASKS $MAXRSS_KB"
                measure cvm-growroot --version
                echo "bench-base noaslr-version $WALL_US $TASKS $MAXRSS_KB"
                measure cvm-growroot --root="/mnt/$3" --json=short
                echo "bench-base noaslr-noop $WALL_US $TASKS $MAXRSS_KB"
                i=$((i + 1))
        done
        echo 2 >/proc/sys/kernel/randomize_va_space
fi
