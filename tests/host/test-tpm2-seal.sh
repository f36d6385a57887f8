#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# lib/tpm2-seal.c against a real TPM 2.0 (swtpm): seal a secret, unseal it
# in another process through lib/, and unseal the same blob independently
# with tpm2-tools under systemd's primary template; all three byte-equal.
# Then change PCR 7: both must refuse.
set -eu -o pipefail
. "$(dirname "$0")/../lib/common.sh"
. "$CVM_SRCDIR/tests/lib/swtpm.sh"

require_cmd swtpm tpm2_createprimary tpm2_load tpm2_unseal tpm2_pcrextend
tmp=$(test_tmpdir)
at_exit rm -rf "$tmp"
swtpm_start_tcp "$tmp/tpm"

# Independent unseal with tpm2-tools: systemd's primary template (owner
# hierarchy, ECC P-256, AES-128-CFB, restricted decrypt, no noDA), the
# blob split into its TPM2B_PRIVATE and TPM2B_PUBLIC halves, a PolicyPCR
# session. Prints the secret in hex.
tools_unseal() {
        local blob=$1 pcrs=$2 d=$tmp/tools
        mkdir -p "$d"
        python3 - "$blob" "$d" <<'PY'
import struct, sys
b = open(sys.argv[1], "rb").read()
n = struct.unpack(">H", b[:2])[0]
open(sys.argv[2] + "/priv", "wb").write(b[:2 + n])
open(sys.argv[2] + "/pub", "wb").write(b[2 + n:])
PY
        tpm2_createprimary -Q -C o -g sha256 -G ecc256:null:aes128cfb \
                -a 'restricted|decrypt|fixedtpm|fixedparent|sensitivedataorigin|userwithauth' \
                -c "$d/primary.ctx"
        # swtpm has no resource manager: evict what each tool left loaded.
        tpm2_flushcontext -t
        tpm2_load -Q -C "$d/primary.ctx" -u "$d/pub" -r "$d/priv" -c "$d/obj.ctx"
        tpm2_flushcontext -t
        tpm2_startauthsession -Q --policy-session -S "$d/session.ctx"
        tpm2_policypcr -Q -S "$d/session.ctx" -l "sha256:$pcrs"
        local rc=0
        tpm2_unseal -c "$d/obj.ctx" -p "session:$d/session.ctx" -o "$d/secret" || rc=$?
        tpm2_flushcontext "$d/session.ctx" >/dev/null 2>&1 || true
        tpm2_flushcontext -t >/dev/null 2>&1 || true
        [ $rc = 0 ] || return $rc
        od -An -v -tx1 "$d/secret" | tr -d ' \n'
        echo
}

sealed=$("$CVM_TESTTOOL" seal "$SWTPM_TCTI" 7 "$tmp/blob")
read -r alg policy <"$tmp/blob.meta"
check_eq "secret is 32 bytes" 64 "${#sealed}"
check_eq "primary is ECC (swtpm supports it)" ecc "$alg"

# The policy digest equals what tpm2-tools computes for the same PCRs.
tpm2_createpolicy -Q --policy-pcr -l sha256:7 -L "$tmp/policy.tools"
check_eq "policy hash matches tpm2_createpolicy" "$(od -An -v -tx1 "$tmp/policy.tools" | tr -d ' \n')" "$policy"

unsealed=$("$CVM_TESTTOOL" unseal "$SWTPM_TCTI" 7 "$tmp/blob" "$alg" "$policy")
check_eq "lib/ unseal returns the sealed bytes" "$sealed" "$unsealed"

tools=$(tools_unseal "$tmp/blob" 7)
check_eq "tpm2-tools unseal returns the same bytes" "$sealed" "$tools"

# A second seal gives a different secret (fresh randomness each time).
sealed2=$("$CVM_TESTTOOL" seal "$SWTPM_TCTI" 4+7 "$tmp/blob2")
check "two seals give different secrets" test "$sealed" != "$sealed2"

# Corrupt blob: refused, no crash.
cp "$tmp/blob" "$tmp/blob.bad"
printf '\xff' | dd of="$tmp/blob.bad" bs=1 seek=40 conv=notrunc status=none
check_fails "corrupted blob is refused" "$CVM_TESTTOOL" unseal "$SWTPM_TCTI" 7 "$tmp/blob.bad" "$alg" "$policy"
head -c 50 "$tmp/blob" >"$tmp/blob.short"
check_fails "truncated blob is refused" "$CVM_TESTTOOL" unseal "$SWTPM_TCTI" 7 "$tmp/blob.short" "$alg" "$policy"

# Extend PCR 7: the policy no longer holds, for us and for tpm2-tools.
tpm2_pcrextend 7:sha256=0000000000000000000000000000000000000000000000000000000000000001
err=$("$CVM_TESTTOOL" unseal "$SWTPM_TCTI" 7 "$tmp/blob" "$alg" "$policy" 2>&1 >/dev/null || true)
check "lib/ unseal refuses after PCR 7 changed" contains "$err" "Operation not permitted"
check_fails "tpm2-tools unseal refuses after PCR 7 changed" tools_unseal "$tmp/blob" 7

check_done
