#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# cvm-authcheck and cvm-verify-host on a simulated Azure vTPM: swtpm with
# EK certificates (swtpm_setup --create-ek-cert), an RSA AK persisted at
# 0x81000003 and its certificate from a test CA in NV 0x01C101D0.
#  - the evidence names the persistent AK, its certificate and the EK
#    certificate, each equal to what tpm2-tools reads from the TPM;
#  - tpm2_checkquote (not our code) accepts the quote with a qualifyingData
#    computed here from DESIGN.md's formula, and refuses another one;
#  - cvm-verify-host accepts it with --ca (the test CA) and --ak-pub, from
#    the file and from the console log, and refuses another CA;
#  - reruns are idempotent; `quote --nonce` is fresh; which keys are
#    published (stale .pub, loose private key, PEM private key); --pcrs.
set -eu -o pipefail
. "$(dirname "$0")/../lib/common.sh"
. "$CVM_SRCDIR/tests/lib/swtpm.sh"
. "$CVM_SRCDIR/tests/lib/attest.sh"

require_cmd swtpm swtpm_setup tpm2_createak tpm2_checkquote tpm2_nvdefine openssl ssh-keygen python3
tmp=$(test_tmpdir)
at_exit rm -rf "$tmp"
swtpm_setup_ek "$tmp/tpm"
swtpm_start_tcp "$tmp/tpm"
attest_ca "$tmp/ca" test-vtpm-ca
attest_ca "$tmp/ca" other-ca
attest_provision_azure "$tmp/az" "$tmp/ca" test-vtpm-ca
attest_ssh_keys "$tmp/ssh"
cat "$tmp/ssh/"*.pub >"$tmp/offered"

authcheck() {
        "$CVM_AUTHCHECK" --tpm2-device="$SWTPM_TCTI" --host-keys-dir="$tmp/ssh" --runtime-dir="$tmp/run" \
                --console="$tmp/console.log" "$@"
}
verify() {
        "$CVM_VERIFY_HOST" --host-key-file="$tmp/offered" "$@"
}
verify_q() {
        verify "$@" >/dev/null
}
field() { # field JSONFILE PYTHON-EXPR-ON-e
        python3 -c 'import json,sys; e=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"
}

out=$(authcheck --output="$tmp/copy.json" --json=short)
ev=$tmp/run/evidence.json
check "summary names the persistent AK" contains "$out" '"ak_source":"persistent"'
check "summary has the AK certificate" contains "$out" '"ak_certificate":true'
check "summary has the EK certificate" contains "$out" '"ek_certificate":true'
check_eq "evidence.json is mode 0644" 644 "$(stat -c %a "$ev")"
check_eq "--output is the same evidence" "$(cat "$ev")" "$(cat "$tmp/copy.json")"
check_eq "no temporary files left" "evidence.json" "$(ls "$tmp/run")"
check_eq "evidence has version 1" 1 "$(field "$ev" 'e["version"]')"
check_eq "three host keys" 3 "$(field "$ev" 'len(e["host_keys"])')"
check_eq "16 sha256 PCRs" "$(seq -s, 0 15)" "$(field "$ev" '",".join(sorted(e["pcrs"]["sha256"], key=int))')"
check_eq "boot-time nonce is empty" "" "$(field "$ev" 'e["nonce"]')"

# The evidence's AK, AK certificate and EK certificate, read independently.
check_eq "ak.public is the TPM2B_PUBLIC of 0x81000003" "$(base64 -w0 "$tmp/az/ak.tss")" \
        "$(field "$ev" 'e["ak"]["public"]')"
field "$ev" 'e["ak"]["certificate"]' >"$tmp/ak-cert.pem"
check_eq "ak.certificate is the certificate in NV 0x01C101D0" \
        "$(openssl x509 -inform DER -in "$tmp/az/ak.der" -outform DER | sha256sum)" \
        "$(openssl x509 -in "$tmp/ak-cert.pem" -outform DER | sha256sum)"
tpm2_nvread -Q 0x01c00002 -C o -o "$tmp/ek.nv"
field "$ev" 'e["ek"]["certificate"]' >"$tmp/ek-cert.pem"
check_eq "ek.certificate is the RSA EK certificate in NV 0x01c00002" \
        "$(openssl x509 -inform DER -in "$tmp/ek.nv" -outform DER | sha256sum)" \
        "$(openssl x509 -in "$tmp/ek-cert.pem" -outform DER | sha256sum)"
check "EK certificate chains to swtpm-localca" \
        openssl verify -partial_chain -CAfile /var/lib/swtpm-localca/issuercert.pem "$tmp/ek-cert.pem"

# Independent check of the quote.
check "tpm2_checkquote accepts the quote (formula computed by the test)" attest_checkquote "$ev"
check_fails "tpm2_checkquote refuses another qualifyingData" attest_checkquote "$ev" 00

# Our verifier.
check "verify --ca, evidence file" verify_q --ca="$tmp/ca/test-vtpm-ca.pem" --evidence="$ev"
check "verify --ca, console log" verify_q --ca="$tmp/ca/test-vtpm-ca.pem" --console-log="$tmp/console.log"
check "verify --ak-pub (TPM2B_PUBLIC)" verify_q --ak-pub="$tmp/az/ak.tss" --evidence="$ev"
check "verify --ak-pub (PEM)" verify_q --ak-pub="$tmp/az/ak.pem" --evidence="$ev"
check "verify --ak-pub (base64 of ak.public)" verify_q --ak-pub=<(field "$ev" 'e["ak"]["public"]') --evidence="$ev"
check "evidence from stdin" verify_q --ca="$tmp/ca/test-vtpm-ca.pem" --evidence=- <"$ev"
set +e
err=$(verify --ca="$tmp/ca/other-ca.pem" --evidence="$ev" 2>&1 >/dev/null)
rc=$?
set -e
check_eq "another CA: exit status" 1 "$rc"
check "another CA: one line naming ak-trust" contains "$err" "Verification failed: ak-trust:"
check_eq "another CA: a single line" 1 "$(wc -l <<<"$err")"
verdict=$(verify --ca="$tmp/ca/test-vtpm-ca.pem" --evidence="$ev" --json=short)
check "--json verdict says verified" contains "$verdict" '"verified":true'
check "--json verdict names the certificate" contains "$verdict" 'certificate /CN=test vTPM AK'

# Idempotent: a second run replaces the evidence; the console gets a newer block.
sleep 1
authcheck >/dev/null
check_eq "two blocks on the console" 2 "$(grep -c -- '-----BEGIN CVM HOST KEY ATTESTATION-----' "$tmp/console.log")"
check_eq "still one file" "evidence.json" "$(ls "$tmp/run")"
verdict=$(verify --ca="$tmp/ca/test-vtpm-ca.pem" --console-log="$tmp/console.log" --json=short)
second=$(grep -n -- '-----BEGIN CVM' "$tmp/console.log" | tail -1 | cut -d: -f1)
check "console: the newest block is used" contains "$verdict" "block at line $second\""

# Fresh evidence for a nonce.
nonce=$(head -c 32 /dev/urandom | od -An -v -tx1 | tr -d ' \n')
authcheck quote --nonce="$nonce" >"$tmp/fresh.json"
check_eq "quote: evidence carries the nonce" "$nonce" "$(field "$tmp/fresh.json" 'e["nonce"]')"
check "quote: tpm2_checkquote with the nonce" attest_checkquote "$tmp/fresh.json"
check "quote: verify --nonce" verify_q --ca="$tmp/ca/test-vtpm-ca.pem" --evidence="$tmp/fresh.json" --nonce="$nonce"
other_nonce=$(head -c 32 /dev/urandom | od -An -v -tx1 | tr -d ' \n')
err=$(verify --ca="$tmp/ca/test-vtpm-ca.pem" --evidence="$tmp/fresh.json" --nonce="$other_nonce" 2>&1 >/dev/null || true)
check "quote: another nonce is refused (nonce)" contains "$err" "Verification failed: nonce:"
check_fails "boot-time evidence is not fresh" \
        verify_q --ca="$tmp/ca/test-vtpm-ca.pem" --evidence="$ev" --nonce="$nonce"
check_fails "quote without --nonce" authcheck quote
check_fails "quote with a 33-byte nonce" authcheck quote --nonce="${nonce}00"
check_fails "--nonce without quote" authcheck --nonce="$nonce"

# Which keys are published.
keys=$tmp/keys2
mkdir -p "$keys"
cp "$tmp/ssh/"ssh_host_ed25519_key* "$keys/"
ssh-keygen -q -t ecdsa -N '' -f "$tmp/stale" -C stale
cp "$tmp/stale.pub" "$keys/ssh_host_orphan_key.pub"                 # no private key
ssh-keygen -q -t ed25519 -N '' -f "$keys/ssh_host_swapped_key" -C x
cp "$tmp/stale.pub" "$keys/ssh_host_swapped_key.pub"                # .pub of another key
ssh-keygen -q -t ed25519 -N '' -f "$keys/ssh_host_loose_key" -C x
chmod 0644 "$keys/ssh_host_loose_key"                                # sshd refuses it
ssh-keygen -q -t rsa -b 2048 -m PEM -N '' -f "$keys/ssh_host_pem_key" -C x  # PEM private key
out=$("$CVM_AUTHCHECK" --tpm2-device="$SWTPM_TCTI" --host-keys-dir="$keys" --runtime-dir="$tmp/run2" \
        --no-console --json=short 2>"$tmp/keys.err")
check_eq "published: the good key and the PEM one" '["ssh-ed25519","ssh-rsa"]' \
        "$(python3 -c 'import json,sys; print(json.dumps(json.loads(sys.argv[1])["host_keys"], separators=(",",":")))' "$out")"
err=$(cat "$tmp/keys.err")
check "warns about the .pub without private key" contains "$err" "ssh_host_orphan_key"
check "warns about the .pub of another key" contains "$err" "ssh_host_swapped_key.pub' does not belong to it"
check "warns about the loose private key" contains "$err" "accessible by others"
check_eq "the PEM key is the one in ssh_host_pem_key.pub" "$(cut -d' ' -f2 "$keys/ssh_host_pem_key.pub")" \
        "$(field "$tmp/run2/evidence.json" '[k.split()[1] for k in e["host_keys"] if k.startswith("ssh-rsa")][0]')"
# A failed rerun keeps evidence for the same keys, removes it for others.
check_fails "rerun without a TPM fails" "$CVM_AUTHCHECK" --tpm2-device=swtpm:host=127.0.0.1,port=1 \
        --host-keys-dir="$keys" --runtime-dir="$tmp/run2" --no-console
check "... and keeps the evidence for the same keys" test -f "$tmp/run2/evidence.json"
rm "$keys/ssh_host_pem_key" "$keys/ssh_host_pem_key.pub"
check_fails "rerun without a TPM after a key went away fails" "$CVM_AUTHCHECK" \
        --tpm2-device=swtpm:host=127.0.0.1,port=1 --host-keys-dir="$keys" --runtime-dir="$tmp/run2" --no-console
check "... and removes the evidence naming the old key" test ! -e "$tmp/run2/evidence.json"
mkdir -p "$tmp/empty"
check_fails "no usable host key: failure" "$CVM_AUTHCHECK" --tpm2-device="$SWTPM_TCTI" --host-keys-dir="$tmp/empty" \
        --runtime-dir="$tmp/run3" --no-console
check_eq "no usable host key: nothing written" "" "$(ls "$tmp/run3" 2>/dev/null || true)"

# --pcrs
authcheck --pcrs=7 --no-console --runtime-dir="$tmp/run4" >/dev/null
check_eq "--pcrs=7 quotes PCR 7 only" "7" "$(field "$tmp/run4/evidence.json" '",".join(e["pcrs"]["sha256"])')"
check "--pcrs=7: tpm2_checkquote" attest_checkquote "$tmp/run4/evidence.json"
check "--pcrs=7: verify" verify_q --ca="$tmp/ca/test-vtpm-ca.pem" --evidence="$tmp/run4/evidence.json"

check_done
