# SPDX-License-Identifier: LGPL-2.1-or-later
# The independent side of TPM sealing tests: unseal a systemd-style blob
# with tpm2-tools alone. Source after common.sh; needs TPM2TOOLS_TCTI (set
# by swtpm_start_tcp).
#
#   oracle_unseal BLOBFILE ALG PCRS OUTFILE
#       BLOBFILE: TPM2B_PRIVATE ‖ TPM2B_PUBLIC as in a systemd-tpm2 token;
#       ALG: ecc|rsa, the primary template systemd 252 uses (owner
#       hierarchy, AES-128-CFB, restricted decrypt, no noDA); PCRS: sha256
#       PCR list for the PolicyPCR session ("" for none); the raw secret is
#       written to OUTFILE.

oracle_unseal() {
        local blob=$1 alg=$2 pcrs=$3 out=$4 d template rc=0
        d=$(mktemp -d "${TMPDIR:-/tmp}/oracle.XXXXXX")
        case $alg in
        ecc) template=ecc256:null:aes128cfb ;;
        rsa) template=rsa2048:null:aes128cfb ;;
        *) die "oracle_unseal: unknown primary alg '$alg'" ;;
        esac
        /usr/bin/python3 - "$blob" "$d" <<'PY'
import struct, sys
b = open(sys.argv[1], "rb").read()
n = struct.unpack(">H", b[:2])[0]
open(sys.argv[2] + "/priv", "wb").write(b[:2 + n])
open(sys.argv[2] + "/pub", "wb").write(b[2 + n:])
PY
        tpm2_createprimary -Q -C o -g sha256 -G "$template" \
                -a 'restricted|decrypt|fixedtpm|fixedparent|sensitivedataorigin|userwithauth' \
                -c "$d/primary.ctx"
        # swtpm has no resource manager: evict what each tool left loaded.
        tpm2_flushcontext -t
        tpm2_load -Q -C "$d/primary.ctx" -u "$d/pub" -r "$d/priv" -c "$d/obj.ctx"
        tpm2_flushcontext -t
        tpm2_startauthsession -Q --policy-session -S "$d/session.ctx"
        [ -z "$pcrs" ] || tpm2_policypcr -Q -S "$d/session.ctx" -l "sha256:$pcrs"
        tpm2_unseal -c "$d/obj.ctx" -p "session:$d/session.ctx" -o "$out" || rc=$?
        tpm2_flushcontext "$d/session.ctx" >/dev/null 2>&1 || true
        tpm2_flushcontext -t >/dev/null 2>&1 || true
        rm -rf "$d"
        return $rc
}
