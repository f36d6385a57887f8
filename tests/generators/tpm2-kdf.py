#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
# Independent oracle for the TPM 2.0 key derivation functions, written from
# the spec (part 1, §11.4.10.2 KDFa and §11.4.10.3 KDFe) with hashlib/hmac
# only; shares no code with lib/tpm2-duplicate.c. Output, one case a line,
# for tests/expected/tpm2-kdf.txt:
#   kdfa|kdfe HASH KEY_OR_Z LABEL U V BITS RESULT   ("-" = empty)
import hashlib, hmac, struct

def kdfa(h, key, label, u, v, bits):
    out, i = b"", 1
    while len(out) * 8 < bits:
        # counter ‖ label ‖ 0x00 ‖ contextU ‖ contextV ‖ bits, HMAC'ed
        out += hmac.new(key, struct.pack(">I", i) + label + b"\0" + u + v + struct.pack(">I", bits), h).digest()
        i += 1
    return out[:bits // 8]

def kdfe(h, z, label, u, v, bits):
    out, i = b"", 1
    while len(out) * 8 < bits:
        # counter ‖ Z ‖ label ‖ 0x00 ‖ partyUInfo ‖ partyVInfo, hashed
        out += hashlib.new(h, struct.pack(">I", i) + z + label + b"\0" + u + v).digest()
        i += 1
    return out[:bits // 8]

h = lambda b: b.hex() if b else "-"
cases = [
    ("kdfa", "sha256", bytes(range(32)), b"STORAGE", b"\x00\x0b" + bytes(range(100, 132)), b"", 128),
    ("kdfa", "sha256", bytes(range(32)), b"INTEGRITY", b"", b"", 256),
    ("kdfa", "sha256", b"\xaa" * 32, b"STORAGE", b"\x00\x0b" + b"\x55" * 32, b"", 256),
    ("kdfa", "sha384", bytes(range(48)), b"INTEGRITY", b"", b"", 384),
    ("kdfa", "sha256", b"k", b"X", b"u", b"v", 520),  # three blocks, last one cut
    ("kdfe", "sha256", bytes(range(32)), b"DUPLICATE", b"\x11" * 32, b"\x22" * 32, 256),
    ("kdfe", "sha256", b"\x01" * 32, b"DUPLICATE", b"\x33" * 31, b"\x44" * 32, 256),
    ("kdfe", "sha384", bytes(range(48)), b"DUPLICATE", b"\x11" * 48, b"\x22" * 48, 384),
    ("kdfe", "sha256", b"z", b"SECRET", b"", b"", 600),
]
for kind, hn, k, label, u, v, bits in cases:
    f = kdfa if kind == "kdfa" else kdfe
    print(kind, hn, h(k), label.decode(), h(u), h(v), bits, f(hn, k, label, u, v, bits).hex())
