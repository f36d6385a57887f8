#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Tampered host-key binding evidence for tests/host/test-verify-tamper.sh.

    evidence-tamper.py INDIR OUTDIR

INDIR holds what the test made with two swtpms ("VMs") and stock tools:

  a.json          boot-time evidence of VM A (Azure-like: persistent RSA AK,
                  AK certificate from ca1), a.console its console log
  a-keys.pub      A's host public keys (what A's sshd offers)
  a-fresh.json    A's evidence for the nonce in a-fresh.nonce
  a-ak.pem        A's AK public key; ca1.pem, ca2.pem two CAs
  a-ak-ca2.pem    a certificate for A's AK issued by ca2 (wrong CA)
  a-certify.attest/.sig   TPM2_Certify by A's AK (a TPM attestation, not a quote)
  a-quote07.attest/.sig   TPM2_Quote by A's AK over PCRs 0-7 only, with the
                          right qualifyingData for A's keys
  b.json, b-keys.pub, b-ak.pem   VM B: template AK, other host keys
  forged.attest/.sig, forged.pub(TPM2B_PUBLIC), forged.pem
                  a quote-shaped TPMS_ATTEST for B's keys signed with an
                  *unrestricted* signing key of B (TPM2_Sign): what a host
                  could produce without a real quote
  other-key.pub   an SSH key that belongs to nobody

Writes OUTDIR/NNN.{json,log,keys} and OUTDIR/cases.tsv with the columns
  id  expect  kind  input  keys  trust  extra  description
expect is "accept" or the name of the check that must fail first
(lib/evidence-verify.h order); kind is "evidence" or "console-log"; keys is
a --host-key-file or "-"; trust is the trust option; extra is "-" or one
more option. Every case is one reviewable change of a genuine input.
"""
import base64
import copy
import hashlib
import json
import os
import struct
import sys

indir, outdir = sys.argv[1], sys.argv[2]
os.makedirs(outdir, exist_ok=True)


def p(name):
    return os.path.join(indir, name)


def load(name):
    return json.load(open(p(name)))


def read(name, mode="r"):
    return open(p(name), mode).read()


A, B, AF = load("a.json"), load("b.json"), load("a-fresh.json")
a_keys = [l for l in read("a-keys.pub").splitlines() if l.strip()]
b_keys = [l for l in read("b-keys.pub").splitlines() if l.strip()]
other_key = read("other-key.pub").strip()
a_console = read("a.console")
nonce = read("a-fresh.nonce").strip()

TRUST_A = "--ca=" + p("ca1.pem")
TRUST_A_PIN = "--ak-pub=" + p("a-ak.pem")
TRUST_B = "--ak-pub=" + p("b-ak.pem")

cases = []


def emit(expect, description, content, kind="evidence", keys=None, trust=TRUST_A, extra="-"):
    n = len(cases)
    ext = "json" if kind == "evidence" else "log"
    path = os.path.join(outdir, "%03d.%s" % (n, ext))
    mode = "wb" if isinstance(content, bytes) else "w"
    with open(path, mode) as f:
        f.write(content)
    if keys is None:
        keys = a_keys
    if keys == "-":
        keyfile = "-"
    else:
        keyfile = os.path.join(outdir, "%03d.keys" % n)
        with open(keyfile, "w") as f:
            f.write("".join(k + "\n" for k in keys))
    cases.append((n, expect, kind, path, keyfile, trust, extra, description))


def ev(obj):
    return json.dumps(obj, indent=2)


def mutate(base, fn):
    e = copy.deepcopy(base)
    fn(e)
    return e


def b64(b):
    return base64.b64encode(b).decode()


def keyline(line):
    return " ".join(line.split()[:2])


def frame(obj_text, crlf=False, prefix=""):
    b = base64.b64encode(obj_text.encode()).decode()
    lines = ["-----BEGIN CVM HOST KEY ATTESTATION-----"] + [b[i:i + 64] for i in range(0, len(b), 64)] + \
        ["-----END CVM HOST KEY ATTESTATION-----"]
    nl = "\r\n" if crlf else "\n"
    return "".join(prefix + l + nl for l in lines)


compact = lambda o: json.dumps(o, separators=(",", ":"))

# ---- genuine: must be accepted ----
emit("accept", "genuine evidence, --ca", ev(A))
emit("accept", "genuine evidence, --ak-pub", ev(A), trust=TRUST_A_PIN)
emit("accept", "genuine console log", a_console, kind="console-log")
emit("accept", "console log with CR LF", a_console.replace("\n", "\r\n"), kind="console-log")
emit("accept", "console log with timestamps",
     "".join("[%8.3f] %s\n" % (i * 0.01, l) for i, l in enumerate(a_console.splitlines())), kind="console-log")
noisy = []
for i, l in enumerate(a_console.splitlines()):
    noisy.append(l)
    if i % 5 == 2:
        noisy.append("[   17.%06d] systemd[1]: Started session-%d.scope." % (i, i))
emit("accept", "console log with kernel lines inside the block",
     "BIOS\nLinux version 6.1\n" + "\n".join(noisy) + "\nvm login: \n", kind="console-log")
emit("accept", "newest of two blocks (older one is B's)", frame(compact(B)) + "noise\n" + a_console,
     kind="console-log")
emit("accept", "newer block cut short is skipped", a_console + "\n".join(a_console.splitlines()[:5]) + "\n",
     kind="console-log")
emit("accept", "host keys listed in another order", ev(mutate(A, lambda e: e["host_keys"].reverse())))
emit("accept", "offered keys in another order, with comments and host names",
     ev(A), keys=["# 127.0.0.1:22 SSH-2.0-OpenSSH_9.2"] + ["vm.example " + k for k in reversed(a_keys)])
emit("accept", "unknown extra field ignored", ev(mutate(A, lambda e: e.update({"x-note": "hello"}))))
emit("accept", "no offered keys: evidence checked alone", ev(A), keys="-")
emit("accept", "fresh evidence with its nonce", ev(AF), extra="--nonce=" + nonce)
emit("accept", "VM B with B's pinned AK and B's keys", ev(B), keys=b_keys, trust=TRUST_B)
emit("accept", "informational fields changed (boot_id, created, ak.source)",
     ev(mutate(A, lambda e: e.update({"boot_id": "x", "created": "y"}) or e["ak"].update({"source": "z"}))))

# ---- host keys: evidence list vs quote (binding), offered vs attested (host-keys) ----
for i in range(len(A["host_keys"])):
    emit("binding", "evidence host key %d swapped for a foreign key" % i,
         ev(mutate(A, lambda e: e["host_keys"].__setitem__(i, keyline(other_key)))))
    emit("binding", "evidence host key %d removed" % i, ev(mutate(A, lambda e: e["host_keys"].pop(i))))
    emit("host-keys", "offered key %d swapped for a foreign key" % i, ev(A),
         keys=[other_key if j == i else k for j, k in enumerate(a_keys)])
    emit("host-keys", "offered key %d missing" % i, ev(A), keys=[k for j, k in enumerate(a_keys) if j != i])
    emit("host-keys", "offered key %d swapped for one of B's" % i, ev(A),
         keys=[b_keys[i % len(b_keys)] if j == i else k for j, k in enumerate(a_keys)])
emit("binding", "foreign key added to the evidence",
     ev(mutate(A, lambda e: e["host_keys"].append(keyline(other_key)))))
emit("binding", "B's keys in A's evidence", ev(mutate(A, lambda e: e.update({"host_keys": [keyline(k) for k in b_keys]}))),
     keys=b_keys)
emit("host-keys", "foreign key offered in addition", ev(A), keys=a_keys + [other_key])
emit("host-keys", "only a foreign key offered", ev(A), keys=[other_key])
emit("binding", "nonce added to boot-time evidence", ev(mutate(A, lambda e: e.update({"nonce": nonce}))))
emit("binding", "nonce removed from fresh evidence", ev(mutate(AF, lambda e: e.update({"nonce": ""}))))

# ---- freshness ----
other_nonce = hashlib.sha256(b"another nonce").hexdigest()
emit("nonce", "fresh evidence replayed for another nonce", ev(AF), extra="--nonce=" + other_nonce)
emit("nonce", "boot-time evidence where a fresh one is asked for", ev(A), extra="--nonce=" + nonce)
emit("binding", "replayed evidence relabelled with the new nonce",
     ev(mutate(AF, lambda e: e.update({"nonce": other_nonce}))), extra="--nonce=" + other_nonce)

# ---- PCRs ----
pcrs = sorted(A["pcrs"]["sha256"], key=int)
for k in pcrs:
    def change(e, k=k):
        v = bytearray.fromhex(e["pcrs"]["sha256"][k])
        v[0] ^= 0x01
        e["pcrs"]["sha256"][k] = v.hex()
    emit("pcr-digest", "PCR %s value changed" % k, ev(mutate(A, change)))
for k in pcrs:
    emit("pcr-digest", "PCR %s left out" % k, ev(mutate(A, lambda e, k=k: e["pcrs"]["sha256"].pop(k))))
emit("pcr-digest", "PCR 16 added", ev(mutate(A, lambda e: e["pcrs"]["sha256"].update({"16": "00" * 32}))))
assert A["pcrs"]["sha256"]["0"] != A["pcrs"]["sha256"]["7"], "the test extends PCRs 0 and 7 differently"
emit("pcr-digest", "PCRs 0 and 7 exchanged",
     ev(mutate(A, lambda e: e["pcrs"]["sha256"].update({"0": e["pcrs"]["sha256"]["7"], "7": e["pcrs"]["sha256"]["0"]}))))
for k in ("0", "7", "15"):
    emit("expected-pcrs", "PCR %s differs from --expect-pcrs" % k, ev(A),
         extra="--expect-pcrs=%s=%s" % (k, hashlib.sha256(k.encode()).hexdigest()))

# ---- attest and signature bytes ----
attest = base64.b64decode(A["quote"]["attest"])
sig = base64.b64decode(A["quote"]["signature"])
for i in range(len(attest)):
    b = bytearray(attest)
    b[i] ^= 0x40
    emit("signature", "attest byte %d flipped" % i,
         ev(mutate(A, lambda e, b=b: e["quote"].update({"attest": b64(bytes(b))}))))
emit("signature", "attest truncated", ev(mutate(A, lambda e: e["quote"].update({"attest": b64(attest[:-1])}))))
emit("signature", "attest extended", ev(mutate(A, lambda e: e["quote"].update({"attest": b64(attest + b"\0")}))))
for i in range(len(sig)):
    b = bytearray(sig)
    b[i] ^= 0x01 if i >= 6 else 0x80
    emit("signature", "signature byte %d flipped" % i,
         ev(mutate(A, lambda e, b=b: e["quote"].update({"signature": b64(bytes(b))}))))
emit("signature", "signature truncated", ev(mutate(A, lambda e: e["quote"].update({"signature": b64(sig[:-1])}))))
emit("signature", "signature of the fresh quote on the boot quote",
     ev(mutate(A, lambda e: e["quote"].update({"signature": AF["quote"]["signature"]}))))
emit("signature", "B's quote and signature in A's evidence",
     ev(mutate(A, lambda e: e.update({"quote": B["quote"]}))))

# ---- the AK ----
emit("ak-trust", "AK swapped for B's AK (A's certificate kept)",
     ev(mutate(A, lambda e: e["ak"].update({"public": B["ak"]["public"]}))))
emit("ak-trust", "AK swapped for B's AK, --ak-pub pinned to A's",
     ev(mutate(A, lambda e: e["ak"].update({"public": B["ak"]["public"]}))), trust=TRUST_A_PIN)
emit("ak-trust", "AK certificate issued by another CA",
     ev(mutate(A, lambda e: e["ak"].update({"certificate": read("a-ak-ca2.pem")}))))
emit("ak-trust", "AK certificate removed", ev(mutate(A, lambda e: e["ak"].pop("certificate"))))
emit("ak-trust", "AK certificate replaced by the EK certificate",
     ev(mutate(A, lambda e: e["ak"].update({"certificate": e["ek"]["certificate"]}))))
emit("ak-trust", "VM B's genuine evidence with A's CA", ev(B), keys=b_keys)
emit("ak-trust", "VM B's genuine evidence with A's pinned AK", ev(B), keys=b_keys, trust=TRUST_A_PIN)
emit("host-keys", "VM B's genuine quote for its own keys, B trusted, A's keys offered", ev(B), trust=TRUST_B)
emit("ak-trust", "VM B's AK and certificate-less evidence with A's keys offered", ev(B))
forged = mutate(B, lambda e: e.update({"quote": {"attest": b64(read("forged.attest", "rb")),
                                                  "signature": b64(read("forged.sig", "rb"))}})
                or e["ak"].update({"public": b64(read("forged.pub", "rb"))}))
emit("ak-trust", "quote forged with an unrestricted key (pinned by mistake)", ev(forged), keys=b_keys,
     trust="--ak-pub=" + p("forged.pem"))
emit("ak-trust", "quote forged with an unrestricted key, B's AK pinned", ev(forged), keys=b_keys, trust=TRUST_B)
emit("attest", "TPM2_Certify by the AK instead of a quote",
     ev(mutate(A, lambda e: e.update({"quote": {"attest": b64(read("a-certify.attest", "rb")),
                                                "signature": b64(read("a-certify.sig", "rb"))}}))))
emit("pcr-digest", "a real quote by the AK over PCRs 0-7 only",
     ev(mutate(A, lambda e: e.update({"quote": {"attest": b64(read("a-quote07.attest", "rb")),
                                                "signature": b64(read("a-quote07.sig", "rb"))}}))))

# ---- malformed evidence ----
text = ev(A)
emit("evidence", "empty file", "")
emit("evidence", "truncated JSON", text[: len(text) // 2])
emit("evidence", "trailing garbage", text + "\n}")
emit("evidence", "two objects", text + text)
emit("evidence", "a JSON array", "[" + text + "]")
emit("evidence", "NUL byte inside", text[:10] + "\0" + text[10:])
emit("evidence", "not JSON at all", "-----BEGIN CVM HOST KEY ATTESTATION-----\n")
emit("evidence", "too deeply nested", "[" * 100 + "]" * 100)
emit("evidence", "over the size limit", ev(mutate(A, lambda e: e.update({"pad": "x" * (300 * 1024)}))))
for f in ("version", "host_keys", "nonce", "quote", "pcrs", "ak", "boot_id", "created"):
    emit("evidence", "field %s missing" % f, ev(mutate(A, lambda e, f=f: e.pop(f))))
emit("evidence", "quote.attest missing", ev(mutate(A, lambda e: e["quote"].pop("attest"))))
emit("evidence", "quote.signature missing", ev(mutate(A, lambda e: e["quote"].pop("signature"))))
emit("evidence", "ak.public missing", ev(mutate(A, lambda e: e["ak"].pop("public"))))
emit("evidence", "version 2", ev(mutate(A, lambda e: e.update({"version": 2}))))
emit("evidence", "version as a string", ev(mutate(A, lambda e: e.update({"version": "1"}))))
emit("evidence", "host_keys not an array", ev(mutate(A, lambda e: e.update({"host_keys": a_keys[0]}))))
emit("evidence", "host_keys empty", ev(mutate(A, lambda e: e.update({"host_keys": []}))))
emit("evidence", "host key listed twice", ev(mutate(A, lambda e: e["host_keys"].append(e["host_keys"][0]))))
emit("evidence", "host key with a comment", ev(mutate(A, lambda e: e["host_keys"].__setitem__(0, e["host_keys"][0] + " root@x"))))
emit("evidence", "host key relabelled (type differs from blob)",
     ev(mutate(A, lambda e: e["host_keys"].__setitem__(0, "ssh-dss " + e["host_keys"][0].split()[1]))))
emit("evidence", "host key not base64", ev(mutate(A, lambda e: e["host_keys"].__setitem__(0, "ssh-ed25519 !!!!"))))
emit("evidence", "nonce of 33 bytes", ev(mutate(A, lambda e: e.update({"nonce": "00" * 33}))))
emit("evidence", "nonce odd hex", ev(mutate(A, lambda e: e.update({"nonce": "abc"}))))
emit("evidence", "nonce as a number", ev(mutate(A, lambda e: e.update({"nonce": 0}))))
emit("evidence", "attest not base64", ev(mutate(A, lambda e: e["quote"].update({"attest": "%%%%"}))))
emit("evidence", "attest empty", ev(mutate(A, lambda e: e["quote"].update({"attest": ""}))))
emit("evidence", "attest too large", ev(mutate(A, lambda e: e["quote"].update({"attest": b64(b"\0" * 5000)}))))
emit("evidence", "signature as an object", ev(mutate(A, lambda e: e["quote"].update({"signature": {}}))))
emit("evidence", "PCR bank sha1 added", ev(mutate(A, lambda e: e["pcrs"].update({"sha1": {"0": "00" * 20}}))))
emit("evidence", "PCR index with a leading zero",
     ev(mutate(A, lambda e: e["pcrs"]["sha256"].update({"07": e["pcrs"]["sha256"].pop("7")}))))
emit("evidence", "PCR index 24", ev(mutate(A, lambda e: e["pcrs"]["sha256"].update({"24": "00" * 32}))))
emit("evidence", "PCR index negative", ev(mutate(A, lambda e: e["pcrs"]["sha256"].update({"-1": "00" * 32}))))
emit("evidence", "PCR value short", ev(mutate(A, lambda e: e["pcrs"]["sha256"].update({"0": "00" * 31}))))
emit("evidence", "PCR value not hex", ev(mutate(A, lambda e: e["pcrs"]["sha256"].update({"0": "zz" * 32}))))
emit("evidence", "pcrs empty", ev(mutate(A, lambda e: e["pcrs"].update({"sha256": {}}))))
emit("evidence", "ak.public not base64", ev(mutate(A, lambda e: e["ak"].update({"public": "?"}))))
emit("evidence", "ak.certificate with control characters",
     ev(mutate(A, lambda e: e["ak"].update({"certificate": "\x1b[2J" + e["ak"]["certificate"]}))))
emit("evidence", "boot_id too long", ev(mutate(A, lambda e: e.update({"boot_id": "x" * 100}))))
emit("ak-trust", "ak.public truncated (not a TPM2B_PUBLIC)",
     ev(mutate(A, lambda e: e["ak"].update({"public": b64(base64.b64decode(e["ak"]["public"])[:-1])}))))

# ---- malformed framing ----
lines = a_console.splitlines()
emit("evidence", "console log without a block", "Linux version 6.1\nlogin:\n", kind="console-log")
emit("evidence", "block without END", "\n".join(lines[:-1]) + "\n", kind="console-log")
emit("evidence", "END without BEGIN", "\n".join(lines[1:]) + "\n", kind="console-log")
emit("evidence", "base64 line damaged",
     "\n".join(l if i != 3 else l[:10] + "*" + l[11:] for i, l in enumerate(lines)) + "\n", kind="console-log")
emit("evidence", "base64 line missing", "\n".join(l for i, l in enumerate(lines) if i != 2) + "\n",
     kind="console-log")
emit("evidence", "payload is not JSON", frame("hello, world"), kind="console-log")
emit("evidence", "payload is a JSON array", frame("[1, 2, 3]"), kind="console-log")
emit("evidence", "framed evidence is malformed", frame(compact(mutate(A, lambda e: e.pop("quote")))),
     kind="console-log")
emit("signature", "framed evidence with a flipped attest byte",
     frame(compact(mutate(A, lambda e: e["quote"].update({"attest": b64(attest[:9] + bytes([attest[9] ^ 1]) + attest[10:])})))),
     kind="console-log")

with open(os.path.join(outdir, "cases.tsv"), "w") as f:
    for c in cases:
        f.write("\t".join(str(x) for x in c) + "\n")
print(len(cases))
