#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# cvm-verify-host against the stock tool on the same evidence, and the
# cached KnownHostsCommand call (goal: 5 ms). Two evidences, made on swtpm
# by cvm-authcheck: Azure-like (persistent RSA-2048 AK, AK certificate
# checked with --ca) and the template AK (ECDSA P-256, --ak-pub).
#
#   sudo bench/verify/run.sh [RUNS]        (default 200 runs per command)
#
# Each command is one process, exec included, timed by hyperfine without a
# shell (-N); the medians are printed with their ratio:
#   cvm-verify-host   parses the evidence JSON, checks AK trust (X.509
#                     chain or pin), signature, attest, PCR digest, binding
#                     and the offered keys (one command, from the file)
#   tpm2_checkquote   checks signature, qualifyingData and PCR digest of
#                     the same quote, from files split out beforehand (the
#                     splitting and the qualifyingData are not timed)
#   known-hosts-command (cached)   the call ssh makes once the key was verified
set -eu -o pipefail
. "$(dirname "$0")/../../tests/lib/common.sh"
. "$CVM_SRCDIR/tests/lib/swtpm.sh"
. "$CVM_SRCDIR/tests/lib/attest.sh"

runs=${1:-200}
require_cmd hyperfine swtpm swtpm_setup tpm2_checkquote python3 openssl ssh-keygen
tmp=$(test_tmpdir bench-verify)
at_exit rm -rf "$tmp"
export XDG_CACHE_HOME=$tmp/cache

swtpm_setup_ek "$tmp/tpm"
swtpm_start_tcp "$tmp/tpm"
attest_ca "$tmp/ca" ca
attest_ssh_keys "$tmp/ssh"
cat "$tmp/ssh/"*.pub >"$tmp/offered"
"$CVM_AUTHCHECK" --tpm2-device="$SWTPM_TCTI" --host-keys-dir="$tmp/ssh" --runtime-dir="$tmp/tmpl" --no-console \
        >/dev/null
attest_template_ak "$tmp/ind"
attest_provision_azure "$tmp/az" "$tmp/ca" ca
"$CVM_AUTHCHECK" --tpm2-device="$SWTPM_TCTI" --host-keys-dir="$tmp/ssh" --runtime-dir="$tmp/azure" --no-console \
        >/dev/null

median() { # median JSON: hyperfine's median in ms
        python3 -c 'import json,sys; print("%.2f" % (json.load(open(sys.argv[1]))["results"][0]["median"] * 1000))' "$1"
}
bench() { # bench NAME CMD: median ms
        hyperfine -N -w 10 -r "$runs" --export-json "$tmp/$1.json" "$2" >/dev/null 2>&1 || die "hyperfine failed: $2"
        median "$tmp/$1.json"
}

printf '%-10s %-28s %10s %10s %8s\n' evidence trust cvm-verify-host tpm2_checkquote ratio
for kind in azure tmpl; do
        ev=$tmp/$kind/evidence.json
        attest_split_evidence "$ev" "$tmp/$kind-split"
        d=$tmp/$kind-split
        if [ "$kind" = azure ]; then trust="--ca=$tmp/ca/ca.pem"; else trust="--ak-pub=$tmp/ind/tmpl-ak.pem"; fi
        ours="$CVM_VERIFY_HOST --evidence=$ev $trust --host-key-file=$tmp/offered"
        $ours >/dev/null || die "verification failed: $ours"
        stock="tpm2_checkquote -u $d/ak.tss -m $d/attest -s $d/sig -f $d/pcrs -g sha256 -q $(cat "$d/qd")"
        $stock >/dev/null || die "tpm2_checkquote failed"
        a=$(bench "$kind-ours" "$ours")
        b=$(bench "$kind-stock" "$stock")
        printf '%-10s %-28s %8s ms %8s ms %7sx\n' "$kind" "${trust%%=*}" "$a" "$b" \
                "$(python3 -c "print('%.2f' % ($a / $b))")"
done

read -r t k _ <"$tmp/ssh/ssh_host_ed25519_key.pub"
khc="$CVM_VERIFY_HOST known-hosts-command --ca=$tmp/ca/ca.pem --evidence=$tmp/azure/evidence.json vm.example $k $t"
$khc >/dev/null || die "known-hosts-command failed"
c=$(bench khc "$khc")
n=$(bench true /bin/true)
cpu=$(python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["results"][0]; print("%.2f" % ((r["user"] + r["system"]) * 1000))' "$tmp/khc.json")
echo "known-hosts-command, cached: $c ms a call, $cpu ms CPU (goal 5 ms; /bin/true: $n ms on this machine)"
