# SPDX-License-Identifier: LGPL-2.1-or-later
# Fixtures for the host-key binding tests (cvm-authcheck, cvm-verify-host).
# Source after common.sh and swtpm.sh. Everything here uses stock tools
# (tpm2-tools, openssl, ssh-keygen, python3 hashlib), never our code, so
# it can serve as the independent side of a check.
#
#   attest_ssh_keys DIR               ssh_host_{rsa,ecdsa,ed25519}_key[.pub] in DIR
#   attest_ca DIR NAME                a test CA: DIR/NAME.key, DIR/NAME.pem
#   attest_issue_cert CA_DIR CA PUBPEM OUT.der
#                                     certificate for public key PUBPEM issued by CA
#   attest_provision_azure DIR CA_DIR CA
#                                     on the running swtpm: an RSA AK persisted at
#                                     0x81000003 (tpm2_createek/createak/evictcontrol)
#                                     and its certificate from CA in NV 0x01C101D0, as
#                                     Azure provisions them. Writes DIR/ak.pem,
#                                     DIR/ak.tss (TPM2B_PUBLIC), DIR/ak.der
#   attest_template_ak DIR            our documented AK template recreated with
#                                     tpm2_createprimary: DIR/tmpl-ak.pem, .tss
#   attest_split_evidence EVIDENCE DIR [NONCE_HEX]
#                                     tpm2_checkquote's input files for EVIDENCE in DIR
#   attest_checkquote EVIDENCE [NONCE_HEX]
#                                     tpm2_checkquote on the evidence's quote with the
#                                     AK public, the PCRs and a qualifyingData computed
#                                     here from DESIGN.md's formula (python hashlib)

AZURE_AK_HANDLE=0x81000003
AZURE_AK_CERT_NV=0x01C101D0

attest_ssh_keys() {
        local dir=$1 t
        mkdir -p "$dir"
        for t in rsa ecdsa ed25519; do
                ssh-keygen -q -t "$t" -N '' -C "root@cvm-test" -f "$dir/ssh_host_${t}_key"
        done
}

attest_ca() {
        local dir=$1 name=$2
        mkdir -p "$dir"
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
                -subj "/CN=$name" -keyout "$dir/$name.key" -out "$dir/$name.pem" 2>/dev/null
}

attest_issue_cert() {
        local cadir=$1 ca=$2 pub=$3 out=$4 tmpd
        tmpd=$(mktemp -d "$cadir/issue.XXXXXX")
        # A CSR needs a private key; -force_pubkey puts the AK's key in the
        # certificate instead (the AK cannot sign a CSR: it is restricted).
        openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=test vTPM AK" \
                -keyout "$tmpd/dummy.key" -out "$tmpd/req.csr" 2>/dev/null
        openssl x509 -req -in "$tmpd/req.csr" -force_pubkey "$pub" -CA "$cadir/$ca.pem" -CAkey "$cadir/$ca.key" \
                -CAcreateserial -days 30 -outform DER -out "$out" 2>/dev/null
        rm -rf "$tmpd"
}

attest_provision_azure() {
        local dir=$1 cadir=$2 ca=$3 size
        mkdir -p "$dir"
        tpm2_createek -Q -c "$dir/ek.ctx" -G rsa -u "$dir/ek.pub"
        tpm2_createak -Q -C "$dir/ek.ctx" -c "$dir/ak.ctx" -G rsa -g sha256 -s rsassa -u "$dir/ak.tss" \
                -n "$dir/ak.name"
        tpm2_flushcontext -t
        tpm2_evictcontrol -Q -C o -c "$dir/ak.ctx" "$AZURE_AK_HANDLE"
        tpm2_flushcontext -t
        tpm2_readpublic -Q -c "$AZURE_AK_HANDLE" -f tss -o "$dir/ak.tss"
        tpm2_readpublic -Q -c "$AZURE_AK_HANDLE" -f pem -o "$dir/ak.pem"
        attest_issue_cert "$cadir" "$ca" "$dir/ak.pem" "$dir/ak.der"
        size=$(stat -c %s "$dir/ak.der")
        # Azure's index is larger than its certificate: pad with zeros.
        tpm2_nvdefine -Q "$AZURE_AK_CERT_NV" -C o -s $((size + 64)) -a 'ownerread|ownerwrite|authread|authwrite'
        head -c $((size + 64)) < <(cat "$dir/ak.der" /dev/zero) >"$dir/ak.nv"
        tpm2_nvwrite -Q "$AZURE_AK_CERT_NV" -C o -i "$dir/ak.nv"
}

attest_template_ak() {
        local dir=$1
        mkdir -p "$dir"
        tpm2_createprimary -Q -C e -g sha256 -G ecc256:ecdsa-sha256:null \
                -a 'fixedtpm|fixedparent|sensitivedataorigin|userwithauth|restricted|sign' \
                -c "$dir/tmpl-ak.ctx"
        # swtpm has no resource manager: each tool leaves its objects loaded.
        tpm2_flushcontext -t
        tpm2_readpublic -Q -c "$dir/tmpl-ak.ctx" -f pem -o "$dir/tmpl-ak.pem"
        tpm2_flushcontext -t
        tpm2_readpublic -Q -c "$dir/tmpl-ak.ctx" -f tss -o "$dir/tmpl-ak.tss"
        tpm2_flushcontext -t
}

# Split EVIDENCE into DIR/{qd,attest,sig,ak.tss,pcrs}, the files
# tpm2_checkquote takes: the qualifyingData computed from the formula (not
# from our code) and the PCR file in tpm2-tools' serialized format
# (TPML_PCR_SELECTION, count, TPML_DIGESTs as C structures). NONCE_HEX
# overrides the evidence's nonce.
attest_split_evidence() {
        local ev=$1 d=$2 nonce=${3-}
        mkdir -p "$d"
        python3 - "$ev" "$d" "$nonce" <<'PY'
import base64, hashlib, json, struct, sys
ev, d, nonce = json.load(open(sys.argv[1])), sys.argv[2], sys.argv[3]
if not nonce:
    nonce = ev["nonce"]
blobs = sorted(base64.b64decode(l.split()[1]) for l in ev["host_keys"])
qd = hashlib.sha256(b"CVM-SSH-HOSTKEY-BINDING-V1\0" + bytes.fromhex(nonce)
                    + b"".join(struct.pack(">I", len(b)) + b for b in blobs)).hexdigest()
open(d + "/qd", "w").write(qd)
open(d + "/attest", "wb").write(base64.b64decode(ev["quote"]["attest"]))
open(d + "/sig", "wb").write(base64.b64decode(ev["quote"]["signature"]))
open(d + "/ak.tss", "wb").write(base64.b64decode(ev["ak"]["public"]))
pcrs = ev["pcrs"]["sha256"]
idx = sorted(int(k) for k in pcrs)
mask = sum(1 << i for i in idx)
out = struct.pack("<I", 1) + struct.pack("<HB4sx", 0x000B, 3, mask.to_bytes(4, "little")) + b"\0" * 8 * 15
vals = [bytes.fromhex(pcrs[str(i)]) for i in idx]
groups = [vals[i:i + 8] for i in range(0, len(vals), 8)]
out += struct.pack("<I", len(groups))
for g in groups:
    out += struct.pack("<I", len(g))
    out += b"".join(struct.pack("<H", 32) + v + b"\0" * 32 for v in g)
    out += (b"\0" * 66) * (8 - len(g))
open(d + "/pcrs", "wb").write(out)
PY
}

# tpm2_checkquote on EVIDENCE (see attest_split_evidence).
attest_checkquote() {
        local ev=$1 nonce=${2-} d
        d=$(mktemp -d "${ev}.checkquote.XXXXXX")
        attest_split_evidence "$ev" "$d" "$nonce" || return 1
        local rc=0
        tpm2_checkquote -u "$d/ak.tss" -m "$d/attest" -s "$d/sig" -f "$d/pcrs" -g sha256 -q "$(cat "$d/qd")" \
                >"$d/out" 2>&1 || rc=$?
        rm -rf "$d"
        return $rc
}
