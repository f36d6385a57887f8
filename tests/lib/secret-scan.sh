# SPDX-License-Identifier: LGPL-2.1-or-later
# Search files for secrets the test knows: every file is read whole (disk
# images through mmap, sparse holes included) and searched for each secret
# as raw bytes, as hex (lower and upper case), as base64 and base64url at
# each of the three alignments a secret can have inside a longer base64
# stream (so a key inside a base64 JSON field or a console frame is found
# too), and as the base64 text itself followed by a line break or quote
# (a passphrase that is base64 of the secret, as systemd-tpm2 tokens use).
# Source after common.sh.
#
#   secret_scan SECRETS-FILE FILE...
#       SECRETS-FILE: one "NAME HEX" line per secret (name without spaces).
#       Prints one line per hit ("HIT name form file offset") and a summary
#       "secret scan: S secrets, F forms, N files, H hits"; returns 0 only
#       if there was no hit.

secret_scan() {
        /usr/bin/python3 - "$@" <<'PY'
import base64, os, sys

secrets_file, files = sys.argv[1], sys.argv[2:]
secrets = []
for line in open(secrets_file):
    line = line.strip()
    if not line:
        continue
    name, hexval = line.split()
    raw = bytes.fromhex(hexval)
    if len(raw) < 8:
        sys.exit("secret %s: %d bytes is too short to search for without false hits" % (name, len(raw)))
    secrets.append((name, raw))

def forms(raw):
    out = {"raw": raw, "hex": raw.hex().encode(), "HEX": raw.hex().upper().encode()}
    for shift in range(3):
        # The secret starting at byte offset 'shift' mod 3 of a base64
        # stream: pad in front, encode, and drop the characters that also
        # depend on the unknown neighbours at either end.
        enc = base64.b64encode(b"\0" * shift + raw)
        lead = (shift * 4 + 2) // 3
        body = len(raw) + shift
        full = body // 3 * 4 if body % 3 else len(enc)
        for label, e in (("base64", enc), ("base64url", base64.urlsafe_b64encode(b"\0" * shift + raw))):
            core = e[lead:full]
            if len(core) >= 8:
                out["%s@%d" % (label, shift)] = core
    return out

def extents(f):
    """The data extents of a file (a sparse disk image's holes read as
    zeros and hold nothing)."""
    size = os.fstat(f.fileno()).st_size
    pos = 0
    while pos < size:
        try:
            start = os.lseek(f.fileno(), pos, os.SEEK_DATA)
        except OSError:
            return
        end = os.lseek(f.fileno(), start, os.SEEK_HOLE)
        yield start, end
        pos = end

all_forms = [(name, label, pat) for name, raw in secrets for label, pat in forms(raw).items()]
longest = max(len(p) for _, _, p in all_forms)
found = set()
chunk = 64 << 20
for path in files:
    with open(path, "rb") as f:
        for start, end in extents(f):
            # Chunks overlap by the longest pattern, so nothing straddling a
            # chunk boundary is missed.
            off = start
            while off < end:
                f.seek(off)
                buf = f.read(min(chunk + longest, end - off))
                for name, label, pat in all_forms:
                    i = buf.find(pat)
                    if i >= 0 and (name, label, path) not in found:
                        found.add((name, label, path))
                        print("HIT %s %s %s %d" % (name, label, path, off + i))
                off += chunk
hits, nforms = len(found), len(all_forms)
print("secret scan: %d secrets, %d forms, %d files, %d hits" % (len(secrets), nforms, len(files), hits))
sys.exit(1 if hits else 0)
PY
}
