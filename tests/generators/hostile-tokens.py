#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Hostile systemd-tpm2 LUKS2 tokens for tests/host/test-enroll-hostile.sh.

    hostile-tokens.py GOOD_TOKEN.json OTHER_TOKEN.json OUTDIR

GOOD_TOKEN is a working token (keyslot "1", PCR 7) exported from an
enrolled image; OTHER_TOKEN one sealed on the same TPM to PCRs 4+7. Each
case below is one reviewable mutation of GOOD_TOKEN. Writes OUTDIR/NNN.json
and OUTDIR/cases.tsv: "NNN<TAB>expect<TAB>name<TAB>what it breaks", where
expect is
  unusable  the token must be reported invalid or not opening, check fails
  refused   cryptsetup itself may refuse the import (its JSON validation
            requires "keyslots" to be an array of names of existing slots);
            if it does not, the token must be unusable as above
  opens     a control: a legal token that must keep working (proves the
            harness can tell the difference)

A token's JSON cannot be malformed here: `cryptsetup token import` parses
and validates it. Everything that valid JSON can carry is fair game.
"""
import base64
import copy
import json
import os
import struct
import sys

good = json.load(open(sys.argv[1]))
other = json.load(open(sys.argv[2]))
outdir = sys.argv[3]
blob = base64.b64decode(good["tpm2-blob"])
assert good["keyslots"] == ["1"] and good["tpm2-pcrs"] == [7], "expects a PCR 7 token for keyslot 1"

MISSING = object()
cases = []


def case(name, expect, why, changes=None):
    t = copy.deepcopy(good)
    for k, v in (changes or {}).items():
        if v is MISSING:
            del t[k]
        else:
            t[k] = v
    cases.append((name, expect, why, t))


def raw(name, expect, why, t):
    cases.append((name, expect, why, t))


def b64(b):
    return base64.b64encode(b).decode()


# The blob is TPM2B_PRIVATE ‖ TPM2B_PUBLIC; TPMT_PUBLIC of a sealed object:
# type(2) nameAlg(2) objectAttributes(4) authPolicy(2+32) scheme(2) unique(2+32).
priv_len = struct.unpack(">H", blob[:2])[0]
priv, pub = blob[:2 + priv_len], blob[2 + priv_len:]
assert struct.unpack(">H", pub[2:4])[0] == 0x0008, "blob's public area is not KEYEDHASH"


def pub_with(offset, data):
    """pub with bytes at offset (from the start of TPMT_PUBLIC) replaced."""
    p = bytearray(pub)
    p[2 + offset:2 + offset + len(data)] = data
    return bytes(p)


def flip(b, i):
    b = bytearray(b)
    b[i] ^= 0x01
    return bytes(b)


# --- controls -------------------------------------------------------------
case("control-unchanged", "opens", "the token as enrolled")
case("control-unknown-fields", "opens", "extra fields a later systemd or a tool may add",
     {"x-vendor": {"nested": [1, {"a": None}]}, "tpm2_salt": None})
case("control-pubkey-empty", "opens", "tpm2_pubkey present but empty: no signed policy",
     {"tpm2_pubkey": "", "tpm2_pubkey_pcrs": []})

# --- keyslots ---------------------------------------------------------------
case("keyslots-empty", "unusable", "no keyslot", {"keyslots": []})
case("keyslots-multiple", "unusable", "two keyslots: ambiguous", {"keyslots": ["0", "1"]})
case("keyslots-wrong-slot", "unusable", "names the passphrase slot, not the TPM slot",
     {"keyslots": ["0"]})
case("keyslots-int", "refused", "keyslot as a number", {"keyslots": [1]})
case("keyslots-string", "refused", "keyslots not an array", {"keyslots": "1"})
case("keyslots-out-of-range", "refused", "keyslot 99", {"keyslots": ["99"]})
case("keyslots-non-numeric", "refused", "keyslot 'x'", {"keyslots": ["x"]})
case("keyslots-negative", "refused", "keyslot -1", {"keyslots": ["-1"]})
case("keyslots-missing", "refused", "no keyslots field", {"keyslots": MISSING})

# --- tpm2-blob --------------------------------------------------------------
for typ, v in (("int", 12345), ("null", None), ("array", [good["tpm2-blob"]]), ("object", {}),
               ("bool", True)):
    case(f"blob-{typ}", "unusable", f"tpm2-blob is a {typ}", {"tpm2-blob": v})
case("blob-missing", "unusable", "no tpm2-blob", {"tpm2-blob": MISSING})
case("blob-empty", "unusable", "tpm2-blob is empty", {"tpm2-blob": ""})
case("blob-not-base64", "unusable", "tpm2-blob is not base64", {"tpm2-blob": "!!not*base64!!"})
case("blob-base64url", "unusable", "base64url alphabet",
     {"tpm2-blob": good["tpm2-blob"].replace("+", "-").replace("/", "_") + "-_"})
case("blob-junk-after-padding", "unusable", "characters after the '=' padding",
     {"tpm2-blob": b64(blob[:-1]) + "AAAA"})
case("blob-truncated-private", "unusable", "cut inside TPM2B_PRIVATE", {"tpm2-blob": b64(blob[:10])})
case("blob-truncated-public", "unusable", "cut inside TPM2B_PUBLIC", {"tpm2-blob": b64(blob[:-5])})
case("blob-private-only", "unusable", "TPM2B_PUBLIC missing", {"tpm2-blob": b64(priv)})
case("blob-trailing-bytes", "unusable", "4 bytes after TPM2B_PUBLIC",
     {"tpm2-blob": b64(blob + b"\0\0\0\0")})
case("blob-private-size-huge", "unusable", "TPM2B_PRIVATE size 0xffff",
     {"tpm2-blob": b64(b"\xff\xff" + blob[2:])})
case("blob-public-size-short", "unusable", "TPM2B_PUBLIC size one less than its content",
     {"tpm2-blob": b64(priv + struct.pack(">H", len(pub) - 3) + pub[2:])})
case("blob-public-size-long", "unusable", "TPM2B_PUBLIC size one more than its content",
     {"tpm2-blob": b64(priv + struct.pack(">H", len(pub) - 1) + pub[2:])})
case("blob-zero-sizes", "unusable", "two empty TPM2Bs", {"tpm2-blob": b64(b"\0\0\0\0")})
case("blob-public-rsa-type", "unusable", "public area claims RSA, not a sealed object",
     {"tpm2-blob": b64(priv + pub_with(0, b"\x00\x01"))})
case("blob-over-max", "unusable", "4097 bytes: over the size limit",
     {"tpm2-blob": b64(os.urandom(4097))})
case("blob-huge", "unusable", "96 KiB of random bytes", {"tpm2-blob": b64(os.urandom(96 * 1024))})
case("blob-private-tampered", "unusable", "one bit flipped in the encrypted private part",
     {"tpm2-blob": b64(flip(priv, 40) + pub)})
case("blob-attributes-tampered", "unusable", "objectAttributes changed (name no longer matches)",
     {"tpm2-blob": b64(priv + pub_with(4, b"\x00\x00\x00\x52"))})
case("blob-authpolicy-tampered", "unusable", "authPolicy changed to all zeros",
     {"tpm2-blob": b64(priv + pub_with(10, b"\0" * 32))})
case("blob-of-other-policy", "unusable", "blob sealed to PCRs 4+7 in a token saying PCR 7",
     {"tpm2-blob": other["tpm2-blob"]})

# --- tpm2-pcrs ----------------------------------------------------------------
for typ, v in (("string", "7"), ("int", 7), ("object", {"7": True}), ("null", None),
               ("string-elements", ["7"]), ("float", [7.5]), ("float-integral", [7.0]),
               ("bool-elements", [True]), ("nested", [[7]])):
    case(f"pcrs-{typ}", "unusable", f"tpm2-pcrs as {typ}", {"tpm2-pcrs": v})
case("pcrs-missing", "unusable", "no tpm2-pcrs", {"tpm2-pcrs": MISSING})
case("pcrs-negative", "unusable", "PCR -1", {"tpm2-pcrs": [-1]})
case("pcrs-24", "unusable", "PCR 24: past the 24 PCRs", {"tpm2-pcrs": [24]})
case("pcrs-31", "unusable", "PCR 31: 1 << 31", {"tpm2-pcrs": [31]})
case("pcrs-32", "unusable", "PCR 32: a shift past 32 bits", {"tpm2-pcrs": [32]})
case("pcrs-64", "unusable", "PCR 64", {"tpm2-pcrs": [64]})
case("pcrs-2^32+7", "unusable", "PCR 4294967303: is 7 if truncated to 32 bits",
     {"tpm2-pcrs": [2**32 + 7]})
case("pcrs-2^64-1", "unusable", "PCR 18446744073709551615", {"tpm2-pcrs": [2**64 - 1]})
case("pcrs-huge-number", "unusable", "PCR 10^30", {"tpm2-pcrs": [10**30]})
case("pcrs-many", "unusable", "5000 entries", {"tpm2-pcrs": [7] * 5000})
case("pcrs-other", "unusable", "PCR 0 instead of 7 (policy mismatch)", {"tpm2-pcrs": [0]})
case("pcrs-empty", "unusable", "no PCRs (policy mismatch)", {"tpm2-pcrs": []})

# --- bank, primary ------------------------------------------------------------
case("bank-int", "unusable", "tpm2-pcr-bank as a number", {"tpm2-pcr-bank": 11})
case("bank-null", "unusable", "tpm2-pcr-bank null", {"tpm2-pcr-bank": None})
case("bank-unknown", "unusable", "bank sha384", {"tpm2-pcr-bank": "sha384"})
case("bank-empty", "unusable", "bank ''", {"tpm2-pcr-bank": ""})
case("bank-sha1", "unusable", "bank sha1 (policy was made on sha256)", {"tpm2-pcr-bank": "sha1"})
case("alg-unknown", "unusable", "primary alg 'dsa'", {"tpm2-primary-alg": "dsa"})
case("alg-int", "unusable", "primary alg as a number", {"tpm2-primary-alg": 35})
case("alg-rsa-for-ecc-blob", "unusable", "rsa primary for a blob made under ecc",
     {"tpm2-primary-alg": "rsa"})

# --- policy hash --------------------------------------------------------------
ph = good["tpm2-policy-hash"]
case("policy-short", "unusable", "31-byte policy hash", {"tpm2-policy-hash": ph[:62]})
case("policy-long", "unusable", "33-byte policy hash", {"tpm2-policy-hash": ph + "00"})
case("policy-odd-length", "unusable", "63 hex digits", {"tpm2-policy-hash": ph[:63]})
case("policy-non-hex", "unusable", "not hex", {"tpm2-policy-hash": "zz" * 32})
case("policy-int", "unusable", "policy hash as a number", {"tpm2-policy-hash": 0})
case("policy-wrong-value", "unusable", "a different 32-byte digest", {"tpm2-policy-hash": "ab" * 32})

# --- PIN, signed policy, SRK, our flag ----------------------------------------
case("pin-true", "unusable", "needs a PIN", {"tpm2-pin": True})
case("pin-string", "unusable", "tpm2-pin as a string", {"tpm2-pin": "false"})
case("pin-int", "unusable", "tpm2-pin as a number", {"tpm2-pin": 0})
case("pubkey-set", "unusable", "signed PCR policy (tpm2_pubkey)",
     {"tpm2_pubkey": b64(b"-----BEGIN PUBLIC KEY-----\nMFkw\n-----END PUBLIC KEY-----\n"),
      "tpm2_pubkey_pcrs": [11]})
case("pubkey-object", "unusable", "tpm2_pubkey as an object", {"tpm2_pubkey": {"pem": "x"}})
case("srk-garbage", "unusable", "tpm2_srk is not a serialized ESYS_TR",
     {"tpm2_srk": b64(os.urandom(64))})
case("srk-not-base64", "unusable", "tpm2_srk not base64", {"tpm2_srk": "%%%"})
case("srk-int", "unusable", "tpm2_srk as a number", {"tpm2_srk": 1})
case("srk-huge", "unusable", "tpm2_srk of 64 KiB", {"tpm2_srk": b64(os.urandom(65536))})
case("temporary-string", "unusable", "cvm-temporary as a string", {"cvm-temporary": "yes"})

# --- type ---------------------------------------------------------------------
for name, v in (("type-case", "SYSTEMD-TPM2"), ("type-trailing-space", "systemd-tpm2 "),
                ("type-nul", "systemd-tpm2\u0000x")):
    t = copy.deepcopy(good)
    t["type"] = v
    raw(name, "unusable", f"type {v!r}: not a systemd-tpm2 token, so none is left", t)

# --- depth ---------------------------------------------------------------------
deep = 7
for _ in range(24):
    deep = [deep]
case("pcrs-deep-nesting", "unusable", "tpm2-pcrs nested 24 deep", {"tpm2-pcrs": deep})

os.makedirs(outdir, exist_ok=True)
with open(os.path.join(outdir, "cases.tsv"), "w") as tsv:
    for i, (name, expect, why, t) in enumerate(cases):
        nnn = f"{i:03d}"
        with open(os.path.join(outdir, nnn + ".json"), "w") as f:
            json.dump(t, f, separators=(",", ":"))
        tsv.write(f"{nnn}\t{expect}\t{name}\t{why}\n")
print(len(cases))
