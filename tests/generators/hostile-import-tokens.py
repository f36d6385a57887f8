#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Hostile cvm-tpm2-import LUKS2 tokens for tests/host/test-enroll-import.sh.

    hostile-import-tokens.py GOOD_TOKEN_JSON OUTDIR

GOOD_TOKEN_JSON (the text, not a file) is a token seal-offline made for
keyslot "1". Each case is one reviewable mutation; every one must make
`cvm-enroll convert-import` fail with a "Token N:" line and write nothing.
Some are caught by the parser (wrong types, truncation, attributes, policy
mismatch), the others only by the TPM (a flipped bit in the duplicate or
the seed, a consistent change of the public area).
"""
import base64
import copy
import json
import os
import struct
import sys

good = json.loads(sys.argv[1])
outdir = sys.argv[2]
os.makedirs(outdir, exist_ok=True)
b64 = lambda b: base64.b64encode(b).decode()
unb64 = lambda s: base64.b64decode(s)
pub = unb64(good["tpm2-public"])
dup = unb64(good["tpm2-duplicate"])
seed = unb64(good["tpm2-seed"])
cases = []


def case(name, **changes):
    t = copy.deepcopy(good)
    for k, v in changes.items():
        k = k.replace("_", "-")
        if v is None:
            del t[k]
        else:
            t[k] = v
    cases.append((name, t))


def flip(b, i):
    b = bytearray(b)
    b[i] ^= 0x01
    return bytes(b)


def tpm2b(body):
    return struct.pack(">H", len(body)) + body


# TPMT_PUBLIC of a keyedhash object: type(2) nameAlg(2) attributes(4) ...
def set_attrs(p, mask):
    body = bytearray(p[2:])
    attrs = struct.unpack(">I", body[4:8])[0] | mask
    body[4:8] = struct.pack(">I", attrs)
    return tpm2b(bytes(body))


FIXEDTPM, FIXEDPARENT, USERWITHAUTH = 0x2, 0x10, 0x40
case("missing-duplicate", tpm2_duplicate=None)
case("missing-seed", tpm2_seed=None)
case("missing-public", tpm2_public=None)
case("missing-srk-name", tpm2_srk_name=None)
case("duplicate-not-base64", tpm2_duplicate="not base64!")
case("duplicate-truncated-raw", tpm2_duplicate=b64(dup[:-7]))
case("duplicate-truncated-consistent", tpm2_duplicate=b64(tpm2b(dup[2:-7])))
case("duplicate-bit-flipped-hmac", tpm2_duplicate=b64(flip(dup, 5)))
case("duplicate-bit-flipped-body", tpm2_duplicate=b64(flip(dup, len(dup) - 3)))
case("duplicate-empty", tpm2_duplicate=b64(b"\0\0"))
case("seed-truncated", tpm2_seed=b64(seed[:-5]))
case("seed-bit-flipped", tpm2_seed=b64(flip(seed, len(seed) // 2)))
case("public-truncated", tpm2_public=b64(pub[:-4]))
case("public-fixedtpm", tpm2_public=b64(set_attrs(pub, FIXEDTPM)))
case("public-fixedparent", tpm2_public=b64(set_attrs(pub, FIXEDPARENT)))
case("public-userwithauth", tpm2_public=b64(set_attrs(pub, USERWITHAUTH)))
case("policy-hash-mismatch", tpm2_policy_hash="00" * 32)
case("policy-hash-short", tpm2_policy_hash="00" * 31)
# The policy changed consistently in the public area and the token: the
# parser accepts it, the object's name changes, and the TPM's integrity
# check on the duplicate must refuse it.
body = bytearray(pub[2:])
apos = body.find(bytes.fromhex(good["tpm2-policy-hash"]))
body[apos] ^= 0x80
case("policy-changed-consistently", tpm2_public=b64(tpm2b(bytes(body))),
     tpm2_policy_hash=bytes(body[apos:apos + 32]).hex())
case("srk-name-other", tpm2_srk_name="000b" + "11" * 32)
case("primary-alg-dsa", tpm2_primary_alg="dsa")
case("pcr-bank-sha1", tpm2_pcr_bank="sha1")
case("pcrs-not-array", tpm2_pcrs=7)
case("pcrs-index-24", tpm2_pcrs=[24])
case("two-keyslots", keyslots=["0", "1"])

for name, t in cases:
    with open(os.path.join(outdir, name + ".json"), "w") as f:
        json.dump(t, f)
