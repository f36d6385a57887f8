#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# No provisioning at all (a plain swtpm: no EK certificate, no persistent
# AK, no AK certificate): cvm-authcheck creates its AK in the endorsement
# hierarchy from the template documented in docs/EVIDENCE.md.
#  - tpm2_createprimary with that template (not our code) makes the same
#    key, so the user can pin it with --ak-pub; it is the same after the
#    TPM restarts (stable across boots);
#  - tpm2_checkquote accepts the quote with a qualifyingData computed here;
#  - --ca cannot vouch for it (no certificate); --expect-pcrs in its three
#    syntaxes, before and after a PCR changes; known-hosts output.
set -eu -o pipefail
. "$(dirname "$0")/../lib/common.sh"
. "$CVM_SRCDIR/tests/lib/swtpm.sh"
. "$CVM_SRCDIR/tests/lib/attest.sh"

require_cmd swtpm tpm2_createprimary tpm2_checkquote tpm2_pcrextend openssl ssh-keygen python3
tmp=$(test_tmpdir)
at_exit rm -rf "$tmp"
swtpm_start_tcp "$tmp/tpm"
attest_template_ak "$tmp/ind"
attest_ca "$tmp/ca" some-ca
attest_ssh_keys "$tmp/ssh"
cat "$tmp/ssh/"*.pub >"$tmp/offered"

authcheck() {
        "$CVM_AUTHCHECK" --tpm2-device="$SWTPM_TCTI" --host-keys-dir="$tmp/ssh" --runtime-dir="$tmp/run" \
                --console="$tmp/console.log" "$@"
}
verify_q() {
        "$CVM_VERIFY_HOST" --host-key-file="$tmp/offered" "$@" >/dev/null
}
reason() { # the named check a verification failed
        "$CVM_VERIFY_HOST" --host-key-file="$tmp/offered" --json=short "$@" 2>/dev/null |
                sed -n 's/.*"failed":"\([a-z-]*\)".*/\1/p'
}
field() {
        python3 -c 'import json,sys; e=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"
}

out=$(authcheck --json=short)
ev=$tmp/run/evidence.json
check "AK made from the template" contains "$out" '"ak_source":"template"'
check "no AK certificate" contains "$out" '"ak_certificate":false'
check "no EK certificate" contains "$out" '"ek_certificate":false'
check_eq "ak.public is what tpm2_createprimary makes from the documented template" \
        "$(base64 -w0 "$tmp/ind/tmpl-ak.tss")" "$(field "$ev" 'e["ak"]["public"]')"
check "tpm2_checkquote accepts the quote" attest_checkquote "$ev"
check "verify --ak-pub with the independently derived PEM" \
        verify_q --ak-pub="$tmp/ind/tmpl-ak.pem" --evidence="$ev"
check "verify from the console log" verify_q --ak-pub="$tmp/ind/tmpl-ak.pem" --console-log="$tmp/console.log"
check_eq "--ca cannot vouch for an AK without certificate" ak-trust \
        "$(reason --ca="$tmp/ca/some-ca.pem" --evidence="$ev")"
check_eq "--ak-pub and --ca together need both" ak-trust \
        "$(reason --ak-pub="$tmp/ind/tmpl-ak.pem" --ca="$tmp/ca/some-ca.pem" --evidence="$ev")"

# The same AK after the TPM restarts (a reboot).
swtpm_stop "$SWTPM_PID"
swtpm_start_tcp "$tmp/tpm"
authcheck --no-console --runtime-dir="$tmp/run-reboot" >/dev/null
check_eq "same AK after a TPM restart" "$(field "$ev" 'e["ak"]["public"]')" \
        "$(field "$tmp/run-reboot/evidence.json" 'e["ak"]["public"]')"
check "reboot evidence verifies with the same pin" \
        verify_q --ak-pub="$tmp/ind/tmpl-ak.pem" --evidence="$tmp/run-reboot/evidence.json"
rc=$(field "$ev" '__import__("base64").b64decode(e["quote"]["attest"]).hex()')
rc2=$(field "$tmp/run-reboot/evidence.json" '__import__("base64").b64decode(e["quote"]["attest"]).hex()')
check "attest differs after the restart (clock, resetCount)" test "$rc" != "$rc2"

# Expected PCRs.
tpm2_pcrextend 7:sha256=$(printf 'secureboot-db' | sha256sum | cut -d' ' -f1)
authcheck --no-console >/dev/null
pcr7=$(tpm2_pcrread sha256:7 | sed -n 's/.*7 *: *0x\([0-9A-Fa-f]*\).*/\1/p')
check_eq "evidence reports the extended PCR 7" "${pcr7,,}" "$(field "$ev" 'e["pcrs"]["sha256"]["7"]')"
pcr0=$(field "$ev" 'e["pcrs"]["sha256"]["0"]')
check "--expect-pcrs IDX=HEX,IDX=HEX" verify_q --ak-pub="$tmp/ind/tmpl-ak.pem" --evidence="$ev" \
        --expect-pcrs="7=$pcr7,0=0x$pcr0"
tpm2_pcrread sha256:0,7 >"$tmp/pcrread.yaml"
check "--expect-pcrs FILE (tpm2_pcrread output)" verify_q --ak-pub="$tmp/ind/tmpl-ak.pem" --evidence="$ev" \
        --expect-pcrs="$tmp/pcrread.yaml"
cp "$ev" "$tmp/reference.json"
check "--expect-pcrs FILE (an earlier evidence)" verify_q --ak-pub="$tmp/ind/tmpl-ak.pem" --evidence="$ev" \
        --expect-pcrs="$tmp/reference.json"
check_eq "--expect-pcrs with the old PCR 7 value" expected-pcrs \
        "$(reason --ak-pub="$tmp/ind/tmpl-ak.pem" --evidence="$ev" --expect-pcrs="7=$(printf '0%.0s' $(seq 64))")"
check_eq "--expect-pcrs of a PCR not quoted" expected-pcrs \
        "$(reason --ak-pub="$tmp/ind/tmpl-ak.pem" --evidence="$ev" --expect-pcrs="16=$pcr0")"
check_fails "--expect-pcrs malformed" verify_q --ak-pub="$tmp/ind/tmpl-ak.pem" --evidence="$ev" --expect-pcrs="7=zz"
tpm2_pcrextend 7:sha256=$(printf 'later' | sha256sum | cut -d' ' -f1)
authcheck --no-console >/dev/null
check_eq "after PCR 7 moves: new evidence fails the expectation" expected-pcrs \
        "$(reason --ak-pub="$tmp/ind/tmpl-ak.pem" --evidence="$ev" --expect-pcrs="$tmp/reference.json")"
check "after PCR 7 moves: new evidence verifies without it" \
        verify_q --ak-pub="$tmp/ind/tmpl-ak.pem" --evidence="$ev"

# known-hosts prints what OpenSSH reads.
"$CVM_VERIFY_HOST" known-hosts --host=127.0.0.1:2222 --host-key-file="$tmp/offered" \
        --ak-pub="$tmp/ind/tmpl-ak.pem" --evidence="$ev" >"$tmp/known_hosts"
check_eq "known-hosts: one line per key" 3 "$(wc -l <"$tmp/known_hosts")"
while read -r t k _; do
        check "known-hosts has the $t key for [127.0.0.1]:2222" \
                grep -F -x "[127.0.0.1]:2222 $t $k" "$tmp/known_hosts" >/dev/null
done <"$tmp/offered"
check "ssh-keygen -F finds the host in it" ssh-keygen -F '[127.0.0.1]:2222' -f "$tmp/known_hosts" >/dev/null
"$CVM_VERIFY_HOST" known-hosts --host=vm.example --host-key-file="$tmp/offered" \
        --ak-pub="$tmp/ind/tmpl-ak.pem" --evidence="$ev" >"$tmp/known_hosts22"
check "known-hosts: port 22 is a plain name" grep -F "vm.example ssh-ed25519 " "$tmp/known_hosts22" >/dev/null
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 2>/dev/null | openssl pkey -pubout >"$tmp/wrong-ak.pem"
set +e
out=$("$CVM_VERIFY_HOST" known-hosts --host=vm.example --host-key-file="$tmp/offered" \
        --ak-pub="$tmp/wrong-ak.pem" --evidence="$ev" 2>"$tmp/err")
rc=$?
set -e
check_eq "known-hosts with another pinned AK: exit status" 1 "$rc"
check_eq "known-hosts with another pinned AK: prints nothing" "" "$out"
check "known-hosts with another pinned AK: says why" grep -F "Verification failed: ak-trust:" "$tmp/err"

check_done
