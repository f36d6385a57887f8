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
#
#   oracle_unseal_token LUKS TOKEN_ID PCRS OUTFILE
#       oracle_unseal the blob of systemd-tpm2 token TOKEN_ID of LUKS (a
#       LUKS2 device, image or detached header), with the primary
#       algorithm the token names (ecc when it names none).
#
#   oracle_replay_eventlog EVENTLOG PCR
#       Extend PCR (sha256 bank) of the TPM at TPM2TOOLS_TCTI with the
#       digest of each of its events in EVENTLOG (a firmware's binary TCG
#       event log, crypto-agile format, parsed here in Python): a host
#       swtpm on a VM's state starts with PCRs reset; this puts the PCR
#       where the VM's firmware left it, so the VM's sealed blobs unseal.

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

oracle_replay_eventlog() {
        local d
        for d in $(/usr/bin/python3 - "$1" "$2" <<'PY'
import struct, sys
b = open(sys.argv[1], "rb").read()
want = int(sys.argv[2])
# First event: TCG_PCR_EVENT (SHA-1 format) carrying the Spec ID event,
# which lists the digest sizes of the crypto-agile events after it.
_, _, size = struct.unpack_from("<II20xI", b, 0)
spec = b[32:32 + size]
n = struct.unpack_from("<I", spec, 24)[0]
sizes = {}
for i in range(n):
    alg, dsz = struct.unpack_from("<HH", spec, 28 + 4 * i)
    sizes[alg] = dsz
off = 32 + size
while off + 12 <= len(b):
    pcr, etype, count = struct.unpack_from("<III", b, off)
    off += 12
    digests = {}
    for _ in range(count):
        alg = struct.unpack_from("<H", b, off)[0]
        digests[alg] = b[off + 2:off + 2 + sizes[alg]]
        off += 2 + sizes[alg]
    esize = struct.unpack_from("<I", b, off)[0]
    off += 4 + esize
    if pcr == want and 0x000B in digests:
        print(digests[0x000B].hex())
PY
        ); do
                tpm2_pcrextend "$2:sha256=$d" || return 1
        done
}

oracle_unseal_token() {
        local d alg rc=0
        d=$(mktemp -d "${TMPDIR:-/tmp}/oracle.XXXXXX")
        cryptsetup token export --token-id "$2" "$1" >"$d/token.json" || { rm -rf "$d"; return 1; }
        alg=$(/usr/bin/python3 - "$d/token.json" "$d/blob" <<'PY'
import base64, json, sys
t = json.load(open(sys.argv[1]))
open(sys.argv[2], "wb").write(base64.b64decode(t["tpm2-blob"]))
print(t.get("tpm2-primary-alg", "ecc"))
PY
        ) || rc=$?
        [ "$rc" != 0 ] || oracle_unseal "$d/blob" "$alg" "$3" "$4" || rc=$?
        rm -rf "$d"
        return $rc
}
