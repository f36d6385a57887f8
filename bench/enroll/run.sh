#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Benchmark: `cvm-enroll tpm2` against `systemd-cryptenroll --tpm2-device`
# (systemd 252), host tier: one swtpm, identical LUKS2 image files.
#
#   sudo CVM_BUILDDIR=$PWD/build bench/enroll/run.sh
#   meson test -C build --benchmark enroll     (never part of `meson test`)
#
# One enrollment = what both tools do for a first-boot TPM enrollment:
# unlock the volume with the key file in keyslot 0 (PBKDF2, 1000
# iterations: the same, cheap, for both), seal a fresh secret to the TPM
# with a PolicyPCR over sha256 PCR $BENCH_PCRS (default 7, extended once
# first so it is not all zero), add a keyslot and a systemd-tpm2 token,
# write the header. Both talk to the same swtpm through tpm2-tss's
# "swtpm:" TCTI.
#
# Wall time: each round copies the template image twice (untimed), runs
# both tools, one per copy, alternating who goes first, and takes
# $EPOCHREALTIME around each command (fork + exec + exit included, equal
# for both). One untimed warm-up run of each comes first. After every run
# the loaded sessions are flushed (untimed): systemd 252 leaves one behind
# and swtpm, having no resource manager, holds only three. Printed: each
# round, the medians, the ratio ours/theirs (goal <= 1.0x).
#
# TPM commands per enrollment: BENCH_COUNT_RUNS (3) more enrollments of
# each tool, this time through bench/enroll/tpm-count-proxy.py, a TCP proxy
# between the tool and swtpm that reads every TPM command and its response
# whole (the 10-byte header carries the size) and logs "command-code
# response-code" before it passes the response back. The count for one
# enrollment is the number of lines one run added; the breakdown by command
# name is printed too. For cvm-enroll, the proxy's count is checked against
# what it reports itself (`--json` tpm2_commands). The proxy is kept out
# of the timed runs (it adds a thread hop and a Python parse per command).
#
# Knobs: BENCH_ROUNDS (11, at least 5), BENCH_COUNT_RUNS (3), BENCH_PCRS
# (7; "" for no PCR policy). Exit 0 when the measurement ran (a missed goal
# is reported, not failed), 1 when a run broke, 77/99 as the tests.
set -eu -o pipefail
# A failure inside $(...) must end the run too.
shopt -s inherit_errexit
src=$(cd "$(dirname "$0")/../.." && pwd)
. "$src/tests/lib/common.sh"
. "$src/tests/lib/swtpm.sh"
. "$src/tests/lib/luks.sh"

rounds=${BENCH_ROUNDS:-11}
count_runs=${BENCH_COUNT_RUNS:-3}
pcrs=${BENCH_PCRS-7}
[ "$rounds" -ge 5 ] || die "BENCH_ROUNDS must be >= 5"
[ "$count_runs" -ge 1 ] || die "BENCH_COUNT_RUNS must be >= 1"

require_cmd swtpm systemd-cryptenroll tpm2_pcrextend tpm2_flushcontext tpm2_getcap
[ -x "$CVM_ENROLL" ] || die "no $CVM_ENROLL: build first (ninja -C \"$CVM_BUILDDIR\")"
tmp=$(test_tmpdir bench-enroll)
at_exit rm -rf "$(printf %q "$tmp")"

swtpm_start_tcp "$tmp/tpm"
# PCR 7 as firmware leaves it: not zero (systemd would warn).
tpm2_pcrextend "7:sha256=$(printf 'bench-secureboot' | sha256sum | cut -d' ' -f1)"

pass=$tmp/pass
luks_passfile "$pass"
luks_image "$tmp/template.img" "$pass"

us_now() {
        echo "${EPOCHREALTIME/[.,]/}"
}
ms() { # ms MICROSECONDS: milliseconds, one decimal
        awk -v us="$1" 'BEGIN { printf "%.1f", us / 1000 }'
}
median() { # median VALUE...: of integers
        printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END {
                if (NR % 2) print v[(NR + 1) / 2]; else printf "%d\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# run_tool ours|theirs IMG TCTI: one enrollment; stdout+stderr in IMG.log.
run_tool() {
        local who=$1 img=$2 tcti=$3
        case $who in
        ours)
                "$CVM_ENROLL" --tpm2-device="$tcti" tpm2 --device="$img" --pcrs="$pcrs" \
                        --unlock-key-file="$pass" --json=short
                ;;
        theirs)
                systemd-cryptenroll --tpm2-device="$tcti" --tpm2-pcrs="$pcrs" --unlock-key-file="$pass" "$img"
                ;;
        esac >"$img.log" 2>&1
}

# enroll_once ours|theirs TCTI NAME: fresh copy of the template, one timed
# enrollment; prints the microseconds. Fails (with the tool's output) if the
# tool failed or did not add exactly one token.
enroll_once() {
        local who=$1 tcti=$2 img=$tmp/$3.img t0 t1 rc=0
        cp --sparse=always "$tmp/template.img" "$img"
        t0=$(us_now)
        run_tool "$who" "$img" "$tcti" || rc=$?
        t1=$(us_now)
        # systemd 252 leaves its session loaded (see above).
        tpm2_flushcontext --loaded-session >/dev/null 2>&1 || :
        if [ "$rc" != 0 ] || [ "$(luks_tokens "$img")" != 0 ]; then
                echo "bench: $who failed (status $rc, tokens '$(luks_tokens "$img")'):" >&2
                cat "$img.log" >&2
                return 1
        fi
        [ -z "$(tpm2_getcap handles-transient)" ] || die "$who left a transient object loaded in the TPM"
        echo $((t1 - t0))
}

echo "bench/enroll: cvm-enroll tpm2 vs $(systemd-cryptenroll --version | head -n 1 | cut -d' ' -f1-2)" \
        "systemd-cryptenroll; swtpm $(swtpm --version 2>&1 | sed -n 's/.*version \([0-9.]*\).*/\1/p'), TCTI swtpm:," \
        "PCRs '${pcrs}', LUKS2 image ${LUKS_IMAGE_SIZE:-20M}, unlocked by keyslot 0 (PBKDF2, 1000 iterations)"

enroll_once ours "$SWTPM_TCTI" warmup-ours >/dev/null
enroll_once theirs "$SWTPM_TCTI" warmup-theirs >/dev/null
# Both tools made a working token (untimed sanity check of the warm-ups).
"$CVM_ENROLL" --tpm2-device="$SWTPM_TCTI" check --device="$tmp/warmup-ours.img" >/dev/null ||
        die "cvm-enroll's own token does not open its slot"
"$CVM_ENROLL" --tpm2-device="$SWTPM_TCTI" check --device="$tmp/warmup-theirs.img" >/dev/null ||
        die "systemd-cryptenroll's token does not pass cvm-enroll check"
tpm2_flushcontext --loaded-session >/dev/null 2>&1 || :

# The new keyslot's PBKDF and the token's PCRs/primary, for both (the work
# must be the same for the comparison to mean anything).
slot_info() {
        py - "$(cryptsetup luksDump --dump-json-metadata "$1")" <<'PY'
import json, sys
m = json.loads(sys.argv[1])
t = m["tokens"]["0"]
slot = t["keyslots"][0]
k = m["keyslots"][slot]["kdf"]
print(f"new keyslot {slot}: {k['type']}-{k.get('hash', '')}, {k.get('iterations', '?')} iterations;",
      f"token: PCRs {t['tpm2-pcrs']}, bank {t['tpm2-pcr-bank']}, primary {t['tpm2-primary-alg']}")
PY
}
echo "  ours:   $(slot_info "$tmp/warmup-ours.img")"
echo "  theirs: $(slot_info "$tmp/warmup-theirs.img")"

ours=()
theirs=()
for r in $(seq 1 "$rounds"); do
        if [ $((r % 2)) = 1 ]; then
                o=$(enroll_once ours "$SWTPM_TCTI" "r$r-ours")
                t=$(enroll_once theirs "$SWTPM_TCTI" "r$r-theirs")
                first=ours
        else
                t=$(enroll_once theirs "$SWTPM_TCTI" "r$r-theirs")
                o=$(enroll_once ours "$SWTPM_TCTI" "r$r-ours")
                first=theirs
        fi
        rm -f "$tmp/r$r-ours.img" "$tmp/r$r-theirs.img"
        ours+=("$o")
        theirs+=("$t")
        printf 'round %d: cvm-enroll %s ms, systemd-cryptenroll %s ms (%s first)\n' "$r" "$(ms "$o")" "$(ms "$t")" "$first"
done
# What one exec of each costs (`--version`: dynamic linking and start-up;
# systemd-cryptenroll loads libsystemd-shared-252.so), for reading the above.
ver_ours=()
ver_theirs=()
for r in $(seq 1 "$rounds"); do
        t0=$(us_now)
        "$CVM_ENROLL" --version >/dev/null
        t1=$(us_now)
        systemd-cryptenroll --version >/dev/null
        t2=$(us_now)
        ver_ours+=($((t1 - t0)))
        ver_theirs+=($((t2 - t1)))
done
mo=$(median "${ours[@]}")
mt=$(median "${theirs[@]}")
ratio=$(awk -v o="$mo" -v t="$mt" 'BEGIN { printf "%.2f", o / t }')
goal=met
awk -v r="$ratio" 'BEGIN { exit !(r <= 1.0) }' || goal=MISSED

# --- TPM commands, through the counting proxy ------------------------------
"$CVM_PYTHON" "$src/bench/enroll/tpm-count-proxy.py" "$SWTPM_PORT" "$tmp/proxy.pid" "$tmp/proxy.log" \
        >"$tmp/proxy.port" &
proxy_job=$!
at_exit "kill $proxy_job 2>/dev/null; wait $proxy_job 2>/dev/null"
for _ in $(seq 1 50); do
        [ -s "$tmp/proxy.port" ] && break
        sleep 0.1
done
[ -s "$tmp/proxy.port" ] || die "the TPM command proxy did not start"
proxy_tcti="swtpm:host=127.0.0.1,port=$(cat "$tmp/proxy.port")"
: >"$tmp/proxy.log"

lines() {
        wc -l <"$tmp/proxy.log"
}
declare -A counts=()
for who in ours theirs; do
        for i in $(seq 1 "$count_runs"); do
                before=$(lines)
                enroll_once "$who" "$proxy_tcti" "count-$who-$i" >/dev/null
                n=$(($(lines) - before))
                sed -n "$((before + 1)),\$p" "$tmp/proxy.log" >"$tmp/cmds-$who-$i"
                counts[$who]="${counts[$who]:-}${counts[$who]:+ }$n"
                if [ "$who" = ours ]; then
                        self=$(json_field "$(cat "$tmp/count-ours-$i.img.log")" tpm2_commands)
                        [ "$self" = "$n" ] ||
                                echo "bench: note: cvm-enroll reports $self TPM2 commands, the proxy saw $n"
                fi
        done
done
uniq_counts() {
        tr ' ' '\n' <<<"$1" | sort -n | uniq | paste -sd/
}

echo
printf 'median wall time per enrollment (%d rounds): cvm-enroll tpm2 %s ms, systemd-cryptenroll %s ms\n' \
        "$rounds" "$(ms "$mo")" "$(ms "$mt")"
printf 'ratio ours/theirs: %sx (goal <= 1.0x: %s)\n' "$ratio" "$goal"
printf 'one exec (--version, median): cvm-enroll %s ms, systemd-cryptenroll %s ms\n' \
        "$(ms "$(median "${ver_ours[@]}")")" "$(ms "$(median "${ver_theirs[@]}")")"
printf 'TPM commands per enrollment (%d runs each, via the proxy): cvm-enroll tpm2 %s (its --json tpm2_commands: %s), systemd-cryptenroll %s\n' \
        "$count_runs" "$(uniq_counts "${counts[ours]}")" "$self" "$(uniq_counts "${counts[theirs]}")"
for who in ours theirs; do
        [ "$who" = ours ] && name="cvm-enroll tpm2" || name=systemd-cryptenroll
        echo "  $name, one enrollment: $("$CVM_PYTHON" "$src/bench/enroll/tpm-count-proxy.py" --names \
                "$tmp/cmds-$who-1" | paste -sd, | sed 's/,/, /g')"
done
# Time the TPM (swtpm + a loopback round trip) spent on those commands: the
# rest of a run is process start, unlocking keyslot 0, the new keyslot's
# PBKDF2 and the header writes.
tpm_ms=()
for who in ours theirs; do
        for i in $(seq 1 "$count_runs"); do
                t=$("$CVM_PYTHON" "$src/bench/enroll/tpm-count-proxy.py" --tpm-ms "$tmp/cmds-$who-$i")
                tpm_ms+=("$who:${t/./}")
        done
done
tpm_median() { # tpm_median WHO: median TPM time of WHO's counted runs, in ms
        local v=() e
        for e in "${tpm_ms[@]}"; do
                [ "${e%%:*}" = "$1" ] && v+=("${e#*:}")
        done
        awk -v d="$(median "${v[@]}")" 'BEGIN { printf "%.1f", d / 10 }'
}
printf 'time inside the TPM per enrollment (median of the counted runs): cvm-enroll tpm2 %s ms, systemd-cryptenroll %s ms\n' \
        "$(tpm_median ours)" "$(tpm_median theirs)"
