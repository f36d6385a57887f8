#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# cvm-authcheck on a simulated GCP vTPM: no persistent AK, but an AK
# template in NV 0x01c10001 (a marshalled TPMT_PUBLIC, as GCP stores it,
# written here by Python from the TPM 2.0 structure definitions) and the
# AK certificate in NV 0x01c10000.
#  - the AK is the primary key tpm2_createprimary makes from the same
#    template in the endorsement hierarchy; its certificate chains to the
#    test CA; tpm2_checkquote accepts the quote;
#  - a template in NV that is not a restricted signing key is ignored:
#    the AK then comes from our own template.
set -eu -o pipefail
. "$(dirname "$0")/../lib/common.sh"
. "$CVM_SRCDIR/tests/lib/swtpm.sh"
. "$CVM_SRCDIR/tests/lib/attest.sh"

require_cmd swtpm tpm2_createprimary tpm2_nvdefine tpm2_checkquote openssl ssh-keygen python3
tmp=$(test_tmpdir)
at_exit rm -rf "$tmp"
swtpm_start_tcp "$tmp/tpm"
attest_ca "$tmp/ca" gcp-test-ca
attest_ssh_keys "$tmp/ssh"
cat "$tmp/ssh/"*.pub >"$tmp/offered"

# TPMT_PUBLIC: RSA, SHA-256 name, attributes, empty authPolicy, no
# symmetric, RSASSA-SHA256, 2048 bits, default exponent, empty unique.
template() { # template ATTRIBUTES_HEX OUT
        python3 - "$1" "$2" <<'PY'
import struct, sys
attrs = int(sys.argv[1], 16)
t = struct.pack(">HHIH", 0x0001, 0x000B, attrs, 0) + struct.pack(">HHHHIH", 0x0010, 0x0014, 0x000B, 2048, 0, 0)
open(sys.argv[2], "wb").write(t + b"\0" * 16)   # NV index larger than the template
PY
}
nv_put() { # nv_put INDEX FILE
        tpm2_nvdefine -Q "$1" -C o -s "$(stat -c %s "$2")" -a 'ownerread|ownerwrite|authread|authwrite|no_da'
        tpm2_nvwrite -Q "$1" -C o -i "$2"
}

template 00050072 "$tmp/template"     # fixedtpm|fixedparent|sensitivedataorigin|userwithauth|restricted|sign
nv_put 0x01c10001 "$tmp/template"
tpm2_createprimary -Q -C e -g sha256 -G rsa2048:rsassa-sha256:null \
        -a 'fixedtpm|fixedparent|sensitivedataorigin|userwithauth|restricted|sign' -c "$tmp/gcp-ak.ctx"
tpm2_flushcontext -t
tpm2_readpublic -Q -c "$tmp/gcp-ak.ctx" -f pem -o "$tmp/gcp-ak.pem"
tpm2_flushcontext -t
tpm2_readpublic -Q -c "$tmp/gcp-ak.ctx" -f tss -o "$tmp/gcp-ak.tss"
tpm2_flushcontext -t
attest_issue_cert "$tmp/ca" gcp-test-ca "$tmp/gcp-ak.pem" "$tmp/gcp-ak.der"
nv_put 0x01c10000 "$tmp/gcp-ak.der"

out=$("$CVM_AUTHCHECK" --tpm2-device="$SWTPM_TCTI" --host-keys-dir="$tmp/ssh" --runtime-dir="$tmp/run" \
        --no-console --json=short)
ev=$tmp/run/evidence.json
check "AK from the template in NV" contains "$out" '"ak_source":"nv-template"'
check "with the certificate from NV 0x01c10000" contains "$out" '"ak_certificate":true'
check_eq "ak.public is what tpm2_createprimary makes from that template" "$(base64 -w0 "$tmp/gcp-ak.tss")" \
        "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["ak"]["public"])' "$ev")"
check "tpm2_checkquote accepts the quote" attest_checkquote "$ev"
verify_q() {
        "$CVM_VERIFY_HOST" --host-key-file="$tmp/offered" "$@" >/dev/null
}
check "verify --ca" verify_q --ca="$tmp/ca/gcp-test-ca.pem" --evidence="$ev"
check "verify --ak-pub" verify_q --ak-pub="$tmp/gcp-ak.pem" --evidence="$ev"

# A decrypting (not signing) key in the template slot is not an AK.
tpm2_nvundefine -Q 0x01c10001 -C o
template 00030072 "$tmp/bad-template"  # fixedtpm|fixedparent|sensitivedataorigin|userwithauth|decrypt
nv_put 0x01c10001 "$tmp/bad-template"
out=$("$CVM_AUTHCHECK" --tpm2-device="$SWTPM_TCTI" --host-keys-dir="$tmp/ssh" --runtime-dir="$tmp/run2" \
        --no-console --json=short)
check "a template that is no AK is ignored: our own template is used" contains "$out" '"ak_source":"template"'
check "... and the certificate of the other key is not attached" contains "$out" '"ak_certificate":false'
check "tpm2_checkquote accepts that quote too" attest_checkquote "$tmp/run2/evidence.json"

check_done
