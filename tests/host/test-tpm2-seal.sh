#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# lib/tpm2-seal.c against a real TPM 2.0 (swtpm): seal a secret, unseal it
# in another process through lib/, and unseal the same blob independently
# with tpm2-tools under systemd's primary template; all three byte-equal.
# Then change PCR 7: both must refuse.
set -eu -o pipefail
. "$(dirname "$0")/../lib/common.sh"
. "$CVM_SRCDIR/tests/lib/swtpm.sh"
. "$CVM_SRCDIR/tests/lib/tpm2-oracle.sh"

require_cmd swtpm tpm2_createprimary tpm2_load tpm2_unseal tpm2_pcrextend
tmp=$(test_tmpdir)
at_exit rm -rf "$tmp"
swtpm_start_tcp "$tmp/tpm"

# Independent unseal with tpm2-tools (tests/lib/tpm2-oracle.sh); the
# secret in hex on stdout.
tools_unseal() {
        oracle_unseal "$1" ecc "$2" "$tmp/secret" || return
        od -An -v -tx1 "$tmp/secret" | tr -d ' \n'
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
