#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The tamper corpus (tests/generators/evidence-tamper.py) against
# cvm-verify-host. Two swtpms play two VMs: A as Azure provisions it
# (persistent RSA AK, certificate from a test CA), B with nothing (template
# AK). The ingredients the generator needs that only a TPM can make are
# made here with tpm2-tools: A's AK signing a TPM2_Certify and a quote of
# PCRs 0-7, and a quote-shaped attest signed by an unrestricted key of B.
# Every case must end as the generator says: accepted (exit 0, verified)
# or refused (exit 1) with the named check first to fail; no crash.
set -eu -o pipefail
. "$(dirname "$0")/../lib/common.sh"
. "$CVM_SRCDIR/tests/lib/swtpm.sh"
. "$CVM_SRCDIR/tests/lib/attest.sh"

require_cmd swtpm swtpm_setup tpm2_createak tpm2_certify tpm2_quote tpm2_sign openssl ssh-keygen python3
tmp=$(test_tmpdir)
at_exit rm -rf "$tmp"
in=$tmp/in
mkdir -p "$in"

# VM B first (its swtpm's TCTI is replaced by A's below).
swtpm_start_tcp "$tmp/tpm-b"
tcti_b=$SWTPM_TCTI
attest_ssh_keys "$tmp/ssh-b"
cat "$tmp/ssh-b/"*.pub >"$in/b-keys.pub"
"$CVM_AUTHCHECK" --tpm2-device="$tcti_b" --host-keys-dir="$tmp/ssh-b" --runtime-dir="$tmp/run-b" --no-console >/dev/null
cp "$tmp/run-b/evidence.json" "$in/b.json"
attest_template_ak "$tmp/b"
cp "$tmp/b/tmpl-ak.pem" "$in/b-ak.pem"
# An unrestricted signing key signs whatever it is given: a forged quote.
tpm2_createprimary -Q -C o -g sha256 -G ecc256:ecdsa-sha256:null \
        -a 'fixedtpm|fixedparent|sensitivedataorigin|userwithauth|sign' -c "$tmp/b/forger.ctx"
tpm2_flushcontext -t # swtpm has no resource manager: each tool leaves its objects loaded
tpm2_readpublic -Q -c "$tmp/b/forger.ctx" -f tss -o "$in/forged.pub"
tpm2_flushcontext -t
tpm2_readpublic -Q -c "$tmp/b/forger.ctx" -f pem -o "$in/forged.pem"
tpm2_flushcontext -t
python3 - "$in/b.json" "$in/forged.attest" <<'PY'
import base64, hashlib, json, struct, sys
e = json.load(open(sys.argv[1]))
a = bytearray(base64.b64decode(e["quote"]["attest"]))
# TPMS_ATTEST: magic, type, qualifiedSigner (TPM2B), extraData (TPM2B) ...
off = 6
off += 2 + struct.unpack(">H", a[off:off + 2])[0]
n = struct.unpack(">H", a[off:off + 2])[0]
a[off + 2:off + 2 + n] = hashlib.sha256(b"whatever the forger wants").digest()
a[off + 2 + 31] ^= 1
open(sys.argv[2], "wb").write(bytes(a))
PY
tpm2_sign -Q -c "$tmp/b/forger.ctx" -g sha256 -o "$in/forged.sig" "$in/forged.attest"
tpm2_flushcontext -t

# VM A.
swtpm_setup_ek "$tmp/tpm-a"
swtpm_start_tcp "$tmp/tpm-a"
attest_ca "$tmp/ca" ca1
attest_ca "$tmp/ca" ca2
cp "$tmp/ca/ca1.pem" "$tmp/ca/ca2.pem" "$in/"
attest_provision_azure "$tmp/a" "$tmp/ca" ca1
# Measurements, so that PCRs differ from each other (a fresh swtpm has all zeros).
for i in 0 4 7 11; do
        tpm2_pcrextend "$i:sha256=$(printf 'measurement %s' "$i" | sha256sum | cut -d' ' -f1)"
done
cp "$tmp/a/ak.pem" "$in/a-ak.pem"
attest_issue_cert "$tmp/ca" ca2 "$tmp/a/ak.pem" "$tmp/a/ak-ca2.der"
openssl x509 -inform DER -in "$tmp/a/ak-ca2.der" -out "$in/a-ak-ca2.pem"
attest_ssh_keys "$tmp/ssh-a"
cat "$tmp/ssh-a/"*.pub >"$in/a-keys.pub"
"$CVM_AUTHCHECK" --tpm2-device="$SWTPM_TCTI" --host-keys-dir="$tmp/ssh-a" --runtime-dir="$tmp/run-a" \
        --console="$in/a.console" >/dev/null
cp "$tmp/run-a/evidence.json" "$in/a.json"
head -c 32 /dev/urandom | od -An -v -tx1 | tr -d ' \n' >"$in/a-fresh.nonce"
"$CVM_AUTHCHECK" --tpm2-device="$SWTPM_TCTI" --host-keys-dir="$tmp/ssh-a" --runtime-dir="$tmp/run-a" \
        quote --nonce="$(cat "$in/a-fresh.nonce")" >"$in/a-fresh.json"
tpm2_certify -Q -c "$AZURE_AK_HANDLE" -C "$AZURE_AK_HANDLE" -g sha256 -o "$in/a-certify.attest" \
        -s "$in/a-certify.sig"
qd=$(python3 - "$in/a.json" <<'PY'
import base64, hashlib, json, struct, sys
e = json.load(open(sys.argv[1]))
blobs = sorted(base64.b64decode(l.split()[1]) for l in e["host_keys"])
print(hashlib.sha256(b"CVM-SSH-HOSTKEY-BINDING-V1\0" + b"".join(struct.pack(">I", len(b)) + b for b in blobs)).hexdigest())
PY
)
tpm2_quote -Q -c "$AZURE_AK_HANDLE" -l sha256:0,1,2,3,4,5,6,7 -q "$qd" -g sha256 \
        -m "$in/a-quote07.attest" -s "$in/a-quote07.sig"
ssh-keygen -q -t ed25519 -N '' -C nobody -f "$tmp/other-key"
cp "$tmp/other-key.pub" "$in/other-key.pub"

n=$(python3 "$CVM_SRCDIR/tests/generators/evidence-tamper.py" "$in" "$tmp/cases")
echo "# $n generated cases"
[ "$n" -ge 200 ] || die "generator made only $n cases"

accepted=0 rejected=0 declare_mismatch=0
while IFS=$'\t' read -r id expect kind input keys trust extra desc; do
        args=(--json=short "--$kind=$input" "$trust")
        [ "$keys" = - ] || args+=("--host-key-file=$keys")
        [ "$extra" = - ] || args+=("$extra")
        set +e
        out=$("$CVM_VERIFY_HOST" "${args[@]}" 2>"$tmp/err")
        rc=$?
        set -e
        if [ $rc -ge 2 ]; then
                not_ok "case $id ($desc): exit status $rc: $(head -3 "$tmp/err")"
                continue
        fi
        failed=$(sed -n 's/.*"failed":"\([a-z-]*\)".*/\1/p' <<<"$out")
        if [ "$expect" = accept ]; then
                if [ $rc = 0 ] && contains "$out" '"verified":true'; then
                        accepted=$((accepted + 1))
                        ok "case $id accepted: $desc"
                else
                        not_ok "case $id ($desc) must be accepted: rc=$rc failed=$failed $(head -1 "$tmp/err")"
                fi
        else
                if [ $rc = 1 ] && [ "$failed" = "$expect" ] && contains "$(cat "$tmp/err")" "Verification failed: $expect:"; then
                        rejected=$((rejected + 1))
                        ok "case $id refused ($expect): $desc"
                else
                        not_ok "case $id ($desc) must fail '$expect': rc=$rc failed='$failed' $(head -1 "$tmp/err")"
                fi
        fi
done <"$tmp/cases/cases.tsv"
echo "# accepted $accepted genuine, refused $rejected tampered, of $n"

check_done
