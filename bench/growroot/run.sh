#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Benchmark: cvm-growroot against today's pipeline, in ONE boot of the vm
# tier's busybox guest (qemu TCG, 1 vCPU, 1 GiB, swtpm), on identical disks.
#
#   ours    cvm-growroot --root=MNT: partition (libfdisk + BLKPG), LUKS2
#           (key unsealed from the TPM: systemd-tpm2 token, PCR 16),
#           ext4 (EXT4_IOC_RESIZE_FS), one process
#   theirs  what cloud-init 22.4 runs on RHEL CVM images (bench/growroot/
#           pipeline.sh): growpart --dry-run, growpart, cryptsetup status,
#           cryptsetup --key-file - resize (cleartext key), resize2fs
#
# After a growth ext4 zeroes the new inode tables in the background
# (ext4lazyinit, through dm-crypt: slow under TCG), which would slow down
# every later round of both sides: each round's disks are unmounted after
# it (that stops their lazy init). Mounting with noinit_itable instead is
# no good: the resize ioctl then zeroes them itself, seconds for both.
# Every disk is a copy of one image: GPT, LUKS2 (keyslot 0 = a key file,
# PBKDF2 1000 iterations, keyslot 1 = systemd-cryptenroll's TPM2 token) and
# ext4, IMAGE_MIB of image on a DISK_MIB disk. Round r grows pair r: ours on
# one disk, theirs on the other, alternating who goes first. Then NOOP_RUNS
# no-op reruns of both, and one more pair under strace to classify the
# processes. Printed: medians of wall time, ratio ours/theirs, tasks
# created, peak RSS, the no-op rerun, TPM2 commands per unlock, against the
# issue's goals (<= 0.25x the wall time, no-op <= 20 ms, peak RSS <= 8 MiB).
#
# Run as root from the source tree:  CVM_BUILDDIR=$PWD/build bench/growroot/run.sh
# or, once bench/ is a subdir of the build: meson test -C build --benchmark
# (never part of `meson test`). Needs what the vm tier needs plus growpart
# (cloud-guest-utils) and, for the process classification, strace.
# Knobs: BENCH_ROUNDS (5), BENCH_NOOP_RUNS (7), BENCH_IMAGE_MIB (256),
# BENCH_DISK_MIB (2048), BENCH_BASELINE (another cvm-growroot binary, e.g.
# an older build: its no-op rerun and --version are timed next to ours, in
# the same boot, for a before/after that shares the host's load), BENCH_TRACE=1
# (with strace on the host: on five more disks, a grow and a no-op of
# cvm-growroot under strace -f -tt -T, three grows traced on marker syscalls only,
# `cryptsetup --key-file - resize` under strace; the traces go to the serial
# log as "trace-KIND" lines and to $CVM_BUILDDIR/vm-logs/bench-growroot-
# trace-KIND.txt; ld.so's LD_DEBUG=statistics; timed floors: `cryptsetup open
# --test-passphrase` of the PBKDF2 keyslot 0, the no-op, --version and an
# empty dynamic main() without ASLR, and, with BENCH_TRACE_ALT=PATH
# (e.g. cvm-growroot linked statically), that binary's no-op and --version). Exit 0 when the measurement ran (goals missed
# are reported, not failed), 1 when a run broke, 77/99 as the tests.
# shellcheck disable=SC2016 # awk programs in single quotes, on purpose
set -eu -o pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
. "$src/tests/lib/common.sh"
. "$src/tests/lib/swtpm.sh"
. "$src/tests/vm/lib/vm.sh"
. "$src/tests/vm/lib/mkdisk.sh"

rounds=${BENCH_ROUNDS:-5}
noop_runs=${BENCH_NOOP_RUNS:-7}
image_mib=${BENCH_IMAGE_MIB:-256}
disk_mib=${BENCH_DISK_MIB:-2048}
[ "$rounds" -ge 3 ] || die "BENCH_ROUNDS must be >= 3 (medians)"

require_cmd mkfs.ext4 sfdisk systemd-cryptenroll
command -v growpart >/dev/null || skip "growpart not installed (apt-get install cloud-guest-utils)"
# growpart is a shell script: the busybox guest runs it with its sh, awk,
# mktemp..., sfdisk/partx/sgdisk from VM_TOOLS, and util-linux's flock
# (busybox-static has none). strace (with its libraries) only if the host
# has it.
require_cmd flock "${CC:-cc}"
VM_EXTRA_TOOLS="growpart flock${VM_EXTRA_TOOLS:+ $VM_EXTRA_TOOLS}"
command -v strace >/dev/null && VM_EXTRA_TOOLS="$VM_EXTRA_TOOLS strace"
vm_setup bench-growroot

"${CC:-cc}" -O2 -Wall -o "$VM_TMP/rusage-wrap" "$src/bench/growroot/rusage-wrap.c" ||
        die "cannot build bench/growroot/rusage-wrap.c"
# The floor of one exec in this guest: `int main(void) { return 0; }`,
# static and dynamically linked (libc only, as the compiler links it).
echo 'int main(void) { return 0; }' >"$VM_TMP/empty.c"
"${CC:-cc}" -O2 -static -o "$VM_TMP/empty-static" "$VM_TMP/empty.c" || die "cannot build a static empty program"
"${CC:-cc}" -O2 -o "$VM_TMP/empty-dynamic" "$VM_TMP/empty.c" || die "cannot build a dynamic empty program"
baseline_args=()
if [ -n "${BENCH_BASELINE:-}" ]; then
        cp "$BENCH_BASELINE" "$VM_TMP/cvm-growroot-baseline" || die "BENCH_BASELINE: cannot read $BENCH_BASELINE"
        baseline_args=(--file "$VM_TMP/cvm-growroot-baseline")
fi

content=$VM_TMP/content
mkdir -p "$content/etc"
head -c 8M /dev/urandom >"$content/data.bin"
echo "cvm-firstboot bench" >"$content/etc/motd"
(cd "$content" && sha256sum data.bin etc/motd) >"$VM_TMP/sums"
(umask 077 && head -c 32 /dev/urandom >"$VM_TMP/key")

tpm=$VM_TMP/tpm
swtpm_start_tcp "$tpm"
sd_enroll() {
        systemd-cryptenroll --tpm2-device="$SWTPM_TCTI" --tpm2-pcrs=16 --unlock-key-file="$VM_TMP/key" "$1" \
                >"$VM_TMP/cryptenroll.log" 2>&1 || { cat "$VM_TMP/cryptenroll.log"; return 1; }
}
mkdisk_luks_gpt "$VM_TMP/template.img" "$disk_mib" "$image_mib" "$content" "$VM_TMP/key" ext4 \
        --part-hook sd_enroll
swtpm_stop "$SWTPM_PID"
_vm_forget_exit_action swtpm_stop "$SWTPM_PID"

# 2 disks per round + the strace pair, all the same bytes.
ndisks=$((2 * rounds + 2))
[ -z "${BENCH_BASELINE:-}" ] || ndisks=$((ndisks + rounds))
trace=0
if [ "${BENCH_TRACE:-0}" = 1 ]; then
        command -v strace >/dev/null || die "BENCH_TRACE=1 needs strace on the host (copied into the guest)"
        trace=1 ndisks=$((ndisks + 5))
        if [ -n "${BENCH_TRACE_ALT:-}" ]; then
                cp "$BENCH_TRACE_ALT" "$VM_TMP/cvm-growroot-alt" || die "BENCH_TRACE_ALT: cannot read $BENCH_TRACE_ALT"
                baseline_args+=(--file "$VM_TMP/cvm-growroot-alt")
        fi
fi
disks="" disk_args=() letters=abcdefghijklmnopqrstuvwxyz
[ "$ndisks" -le 26 ] || die "BENCH_ROUNDS too big: $ndisks disks"
for i in $(seq 0 $((ndisks - 1))); do
        dev=vd${letters:i:1}
        cp --sparse=always "$VM_TMP/template.img" "$VM_TMP/$dev.img"
        disks="$disks $dev:ext4:512:sd"
        disk_args+=(--disk "$VM_TMP/$dev.img")
done
rm -f "$VM_TMP/template.img"

vm_run --scenario "$src/bench/growroot/guest.sh" \
        --file "$src/tests/vm/scenarios/growroot-lib.sh" \
        --file "$src/bench/growroot/pipeline.sh" --file "$VM_TMP/rusage-wrap" \
        --file "$VM_TMP/empty-static" --file "$VM_TMP/empty-dynamic" "${baseline_args[@]}" \
        --file "$VM_TMP/key" --file "$VM_TMP/sums" \
        --env "DISKS=${disks# }" --env "ROUNDS=$rounds" --env "NOOP_RUNS=$noop_runs" \
        --env "TRACE=$trace" \
        --tpm-state "$tpm" "${disk_args[@]}" --timeout 1200

log=$VM_TMP/bench.txt
_vm_log_text | grep -E '^bench' >"$log" || die "no bench lines in $VM_LOG"
if [ "$trace" = 1 ]; then
        for kind in grow noop grow-markers cryptsetup-resize ldstats; do
                _vm_log_text | sed -n "s/^trace-$kind //p" >"$CVM_BUILDDIR/vm-logs/bench-growroot-trace-$kind.txt"
                echo "strace -f -tt -T of $kind: $(wc -l <"$CVM_BUILDDIR/vm-logs/bench-growroot-trace-$kind.txt") lines in" \
                        "$CVM_BUILDDIR/vm-logs/bench-growroot-trace-$kind.txt"
        done
        echo "where a grow's time goes (bench/growroot/trace-phases.py):"
        python3 "$src/bench/growroot/trace-phases.py" "$CVM_BUILDDIR/vm-logs/bench-growroot-trace-grow-markers.txt" ||
                echo "(trace-phases.py could not split the traces)"
fi

# median FIELD AWK-FILTER: the median of column FIELD of the lines matching
# (the filters are awk, hence single-quoted).
median() {
        awk "$2 { print \$$1 }" "$log" | sort -n |
                awk '{ v[NR] = $1 } END { if (NR == 0) print "n/a"; else if (NR % 2) print v[(NR + 1) / 2];
                        else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
# minimum FIELD AWK-FILTER: the smallest value (the best of N: under a
# loaded host, noise only ever adds time).
minimum() {
        awk "$2 { print \$$1 }" "$log" | sort -n | awk 'NR == 1 { print } END { if (NR == 0) print "n/a" }'
}
# msm FIELD AWK-FILTER: "median (min)" in ms.
msm() { echo "$(ms "$(median "$1" "$2")") ($(ms "$(minimum "$1" "$2")"))"; }
ms() { awk -v u="$1" 'BEGIN { if (u == "n/a") print u; else printf "%.1f", u / 1000 }'; }
mib() { awk -v k="$1" 'BEGIN { if (k == "n/a") print k; else printf "%.1f", k / 1024 }'; }

ours_wall=$(median 4 '$1 == "bench" && $3 == "ours"')
theirs_wall=$(median 4 '$1 == "bench" && $3 == "theirs"')
ours_tasks=$(median 5 '$1 == "bench" && $3 == "ours"')
theirs_tasks=$(median 5 '$1 == "bench" && $3 == "theirs"')
ours_rss=$(median 6 '$1 == "bench" && $3 == "ours"')
theirs_rss=$(median 6 '$1 == "bench" && $3 == "theirs"')
ours_self_rss=$(median 8 '$1 == "bench" && $3 == "ours"')
tpm2_cmds=$(median 7 '$1 == "bench" && $3 == "ours"')
noop_ours=$(median 3 '$1 == "bench-noop" && $2 == "ours"')
noop_theirs=$(median 3 '$1 == "bench-noop" && $2 == "theirs"')
noop_ours_rss=$(median 5 '$1 == "bench-noop" && $2 == "ours"')
start=$(median 2 '$1 == "bench-start"')
ratio=$(awk -v a="$ours_wall" -v b="$theirs_wall" 'BEGIN { printf "%.3f", a / b }')
# Each round's pair ran back to back: the median of the per-round ratios
# is less sensitive to a host that is busy in some rounds only.
pair_ratio=$(awk '$1 == "bench" { w[$2, $3] = $4; r[$2] = 1 }
        END { for (i in r) print w[i, "ours"] / w[i, "theirs"] }' "$log" | sort -n |
        awk '{ v[NR] = $1 } END { printf "%.3f", (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }')
start_rss=$(median 4 '$1 == "bench-start"')

echo
echo "=== bench/growroot: $rounds rounds, LUKS2 + ext4, ${image_mib} MiB image on ${disk_mib} MiB disks," \
        "qemu TCG 1 vCPU (serial log $VM_LOG)"
echo "per round (wall ms, tasks, peak RSS KiB):"
awk '$1 == "bench" { printf "  round %s %-6s %8.1f ms %4d tasks %7d KiB\n", $2, $3, $4 / 1000, $5, $6 }' "$log"
printf '%-44s %12s %12s\n' "median of $rounds" "cvm-growroot" "pipeline"
printf '%-44s %12s %12s\n' "wall time, ms" "$(ms "$ours_wall")" "$(ms "$theirs_wall")"
printf '%-44s %12s %12s\n' "tasks created (/proc/stat processes)" "$ours_tasks" "$theirs_tasks"
printf '%-44s %12s %12s\n' "peak RSS, MiB (largest process)" "$(mib "$ours_rss")" "$(mib "$theirs_rss")"
printf '%-44s %12s %12s\n' "no-op rerun, ms (median of $noop_runs)" "$(ms "$noop_ours")" "$(ms "$noop_theirs")"
printf '%-44s %12s %12s\n' "no-op rerun, ms (min of $noop_runs)" "$(ms "$(minimum 3 '$1 == "bench-noop" && $2 == "ours"')")" \
        "$(ms "$(minimum 3 '$1 == "bench-noop" && $2 == "theirs"')")"
echo "exec costs, ms, median (min) of $noop_runs:"
printf '%-44s %16s\n' "  cvm-growroot --version (exec + linking)" "$(msm 2 '$1 == "bench-start"')"
printf '%-44s %12s\n' "  peak RSS of --version (linking alone), MiB" "$(mib "$start_rss")"
for b in busybox-true empty-static empty-dynamic cryptsetup--version; do
        printf '%-44s %16s\n' "  yardstick: ${b/--/ --}" "$(msm 3 "\$1 == \"bench-base\" && \$2 == \"$b\"")"
done
if [ -n "${BENCH_BASELINE:-}" ]; then
        printf '%-44s %16s\n' "  baseline (BENCH_BASELINE) grow" "$(msm 3 '$1 == "bench-base" && $2 == "baseline-grow"')"
        printf '%-44s %16s\n' "  cvm-growroot grow" "$(msm 4 '$1 == "bench" && $3 == "ours"')"
        printf '%-44s %12s\n' "baseline grow peak RSS, MiB" "$(mib "$(median 5 '$1 == "bench-base" && $2 == "baseline-grow"')")"
        printf '%-44s %16s\n' "  cvm-growroot no-op rerun" "$(msm 3 '$1 == "bench-noop" && $2 == "ours"')"
        printf '%-44s %16s\n' "  baseline (BENCH_BASELINE) no-op rerun" \
                "$(msm 3 '$1 == "bench-base" && $2 == "baseline-noop"')"
        printf '%-44s %16s\n' "  baseline --version" "$(msm 3 '$1 == "bench-base" && $2 == "baseline-version"')"
        printf '%-44s %12s\n' "baseline no-op peak RSS, MiB" "$(mib "$(median 5 '$1 == "bench-base" && $2 == "baseline-noop"')")"
fi
[ "$trace" = 0 ] || printf '%-44s %16s\n' "  floor: cryptsetup open --test-passphrase" \
        "$(msm 3 '$1 == "bench-base" && $2 == "keyslot0-test-passphrase"')"
[ "$trace" = 0 ] || printf '%-44s %16s\n' "    (keyslot 0, PBKDF2 1000; ms)" ""
[ "$trace" = 0 ] || printf '%-44s %16s\n' "  no-op rerun on the traced disk" "$(msm 3 '$1 == "bench-base" && $2 == "trace-disk-noop"')"
if [ "$trace" = 1 ]; then
        for b in empty-dynamic version noop; do
                printf '%-44s %16s\n' "  without ASLR: $b" "$(msm 3 "\$1 == \"bench-base\" && \$2 == \"noaslr-$b\"")"
        done
fi
if [ -n "${BENCH_TRACE_ALT:-}" ]; then
        printf '%-44s %16s\n' "  BENCH_TRACE_ALT no-op rerun (same disk)" "$(msm 3 '$1 == "bench-base" && $2 == "alt-noop"')"
        printf '%-44s %16s\n' "  BENCH_TRACE_ALT --version" "$(msm 3 '$1 == "bench-base" && $2 == "alt-version"')"
fi
printf '%-44s %12s\n' "yardstick: cvm-enroll check (TPM unseal +" ""
printf '%-44s %12s\n' "  open the token's keyslot, no resize), ms" \
        "$(ms "$(median 3 '$1 == "bench-base" && $2 == "cvm-enroll-check"')")"
awk '$1 == "bench-strace" { printf "%-44s %12s\n", "strace -f, " $2 ": execve / processes / threads", $3 " / " $4 " / " $5 }' "$log"
echo "cvm-growroot getrusage maxrss (--json): $(mib "$ours_self_rss") MiB; no-op: $(mib "$noop_ours_rss") MiB (tree)"
_vm_log_text | sed -n 's/^bench-newest-tasks /newest tasks after round 1 of cvm-growroot (guest pids, ascending): /p'
echo "TPM2 commands per unlock (luks_step.tpm2_commands): $tpm2_cmds"
echo "ratio ours/theirs (wall time): $ratio (of the medians), $pair_ratio (median of the per-round ratios)"
echo "host load while it ran (1-minute average at the end): $(cut -d' ' -f1 /proc/loadavg) on $(nproc) cores"
echo
goal() { # DESCRIPTION MET(0/1)
        if [ "$2" = 1 ]; then echo "goal met:    $1"; else echo "goal MISSED: $1"; fi
}
goal "wall time <= 0.25x the pipeline's (got ${ratio}x)" "$(awk -v r="$ratio" 'BEGIN { print (r <= 0.25) }')"
goal "no-op rerun <= 20 ms (got $(ms "$noop_ours") ms)" "$(awk -v u="$noop_ours" 'BEGIN { print (u <= 20000) }')"
goal "peak RSS <= 8 MiB (got $(mib "$ours_rss") MiB)" "$(awk -v k="$ours_rss" 'BEGIN { print (k <= 8192) }')"
echo "anchor for the pipeline (ENVIRONMENT.md, Debian guest, with luksKillSlot): 3.6-3.8 s, 50 processes, 31 MiB"

# Both methods must have grown their disks to (nearly) the same sizes, or
# the comparison means nothing: growpart ends the partition 33 sectors
# before the backup GPT, cvm-growroot on the last 1 MiB boundary.
bad=$(awk '$1 == "bench-size" { p[$2] = $3 } END { for (d in p) if (p[d] < (DISK - 3) * 1048576) print d }' \
        DISK="$disk_mib" "$log")
check_eq "every disk grew to within 3 MiB of its end" "" "$bad"
check_done
