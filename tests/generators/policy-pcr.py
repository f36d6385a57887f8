#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
# Independent oracle for the PolicyPCR digest (TPM 2.0 spec part 3,
# TPM2_PolicyPCR): written from the spec with hashlib, shares no code with
# lib/tpm2-util.c. Output: "MASK_HEX VALUES_HEX... DIGEST_HEX" lines for
# tests/expected/policy-pcr.txt.
import hashlib, struct

def selection(mask):
    # TPML_PCR_SELECTION: count=1, TPMS_PCR_SELECTION{hash=sha256, sizeofSelect=3, pcrSelect[3]}
    return struct.pack(">IHB", 1, 0x000B, 3) + bytes([mask & 0xFF, (mask >> 8) & 0xFF, (mask >> 16) & 0xFF])

def policy_pcr(mask, values):
    pcr_digest = hashlib.sha256(b"".join(values)).digest()
    cc = struct.pack(">I", 0x0000017F)  # TPM_CC_PolicyPCR
    return hashlib.sha256(b"\0" * 32 + cc + selection(mask) + pcr_digest).digest()

cases = [
    (1 << 7, [b"\0" * 32]),
    (1 << 4 | 1 << 7, [b"\x01" * 32, b"\x02" * 32]),
    (1 << 0 | 1 << 23, [bytes(range(32)), bytes(range(32, 64))]),
]
for mask, values in cases:
    print("%06x %s %s" % (mask, ",".join(v.hex() for v in values), policy_pcr(mask, values).hex()))
