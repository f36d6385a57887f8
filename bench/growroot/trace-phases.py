#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Split cvm-growroot grows traced on marker syscalls into phases.

    trace-phases.py TRACE

TRACE: bench/growroot/guest.sh's "grow-markers" traces (strace -f -tt -T
--seccomp-bpf -e trace=execve,openat,ioctl,write,poll,prctl,exit_group),
one or more runs, told apart by pid. Prints, per run and as the median of
the runs, the milliseconds between these markers:

  exec + ld.so       execve .. prctl(PR_SET_DUMPABLE) (main's first call)
  quick check        .. the first ld.so.cache open after it (libfdisk)
  partition step     .. ioctl(BLKPG) returned (libfdisk load, probe, write)
  dm table check     .. the ld.so.cache open that loads libcryptsetup
  libcryptsetup load .. the first open that is not a shared object
  crypt_init/load    .. the ld.so.cache open that loads tpm2-tss
  tpm2-tss + TCTI    .. the first TPM command written
  TPM: NAME          one per command: write .. its response (last poll);
                     "host" = from that response to the next command
                     (ESYS/OpenSSL work: salt, session keys, decryption)
  keyslot open       last TPM response .. the next device-mapper ioctl
                     (PBKDF2 + AF merge + keyslot decryption + digest)
  dm resize          .. DM_DEV_SUSPEND (the resume after the reload)
  ext4 resize ioctl  EXT4_IOC_RESIZE_FS, its own duration
  rest               everything else until exit_group
"""
import codecs
import re
import statistics
import sys

TPM_CC = {0x131: "CreatePrimary", 0x157: "Load", 0x176: "StartAuthSession", 0x17F: "PolicyPCR",
          0x189: "PolicyGetDigest", 0x15E: "Unseal", 0x165: "FlushContext", 0x17B: "GetRandom (TCTI probe)",
          0x144: "Startup"}
LINE = re.compile(r'^(\d+)\s+(\d+):(\d+):(\d+\.\d+) (.*?)(?: <(\d+\.\d+)>)?$')


def parse(path):
    runs = {}
    for raw in open(path, errors="replace"):
        m = LINE.match(raw.rstrip("\n"))
        if not m:
            continue
        pid, h, mi, s, call, dur = m.groups()
        t = (int(h) * 3600 + int(mi) * 60 + float(s)) * 1000.0
        runs.setdefault(pid, []).append((t, call, float(dur) * 1000.0 if dur else 0.0))
    return runs


def command_code(call):
    m = re.match(r'write\(\d+, "(.*)"(?:\.\.\.)?, \d+\)', call)
    if not m:
        return None
    data = codecs.escape_decode(m.group(1).encode("latin-1"))[0]
    return int.from_bytes(data[6:10], "big") if len(data) >= 10 else None


def phases(ev):
    out = []
    t0 = ev[0][0]
    last = t0
    tpm_fd = None
    i = 0

    def mark(name, t):
        nonlocal last
        out.append((name, t - last))
        last = t

    def find(pred, start):
        for j in range(start, len(ev)):
            if pred(ev[j][1]):
                return j
        raise LookupError("marker not found")

    i = find(lambda c: c.startswith("prctl(PR_SET_DUMPABLE"), 0)
    mark("exec + ld.so", ev[i][0])
    i = find(lambda c: '"/etc/ld.so.cache"' in c, i)
    mark("quick check", ev[i][0])
    i = find(lambda c: "BLKPG" in c, i)
    mark("partition step", ev[i][0] + ev[i][2])
    i = find(lambda c: "libcryptsetup.so" in c, i)
    mark("dm table check", ev[i - 1][0])
    i = find(lambda c: c.startswith("openat") and ".so" not in c, i)
    mark("libcryptsetup load", ev[i][0])
    i = find(lambda c: "libtss2-tctildr" in c, i)
    mark("crypt_init/load", ev[i - 1][0])
    m = None
    j = find(lambda c: "/dev/tpmrm" in c or "/dev/tpm" in c, i)
    tpm_fd = re.search(r"= (\d+)", ev[j][1]).group(1)
    i = find(lambda c: c.startswith("write(%s," % tpm_fd), j)
    mark("tpm2-tss + TCTI", ev[i][0])
    is_write = lambda c: c.startswith("write(%s," % tpm_fd)
    is_resp = lambda c: c.startswith("poll(") or c.startswith("read(%s," % tpm_fd)
    # The TPM part: from the first command to the last response before
    # the next device-mapper ioctl (the keyslot open follows).
    stop = find(lambda c: c.startswith("ioctl(") and "DM_" in c, i)
    writes = [k for k in range(i, stop) if is_write(ev[k][1])]
    n_cmd = 0
    prev_name = None
    for n, w in enumerate(writes):
        cc = command_code(ev[w][1])
        name = TPM_CC.get(cc, "0x%x" % cc if cc is not None else "?")
        if prev_name:
            libs = any(".so" in ev[k][1] for k in range(w_end_idx, w))
            mark("  host before %s%s" % (name, " (+ libtss2-esys load)" if libs else ""), ev[w][0])
        k = w + 1
        end = ev[w][0] + ev[w][2]
        while k < stop and is_resp(ev[k][1]):
            end = ev[k][0] + ev[k][2]
            k += 1
        mark("TPM: " + name, end)
        n_cmd += 1
        prev_name, w_end_idx = name, k
    i = w_end_idx
    i = find(lambda c: c.startswith("ioctl(") and "DM_" in c, i)
    mark("keyslot open (PBKDF2, AF, digest)", ev[i][0])
    i = find(lambda c: "DM_DEV_SUSPEND" in c, i)
    mark("dm resize (reload, resume)", ev[i][0] + ev[i][2])
    j = find(lambda c: "0x66, 0x10" in c, i)
    mark("ext4: open, checks", ev[j][0])
    mark("ext4 resize ioctl", ev[j][0] + ev[j][2])
    i = find(lambda c: c.startswith("exit_group"), j)
    mark("output, exit", ev[i][0])
    out.append(("total (execve .. exit_group)", ev[i][0] - t0))
    out.append(("TPM commands", n_cmd))
    return out


def main():
    runs = parse(sys.argv[1])
    table = {}
    order = []
    ok = 0
    for pid, ev in runs.items():
        if not ev or not ev[0][1].startswith("execve("):
            continue
        try:
            ph = phases(ev)
        except (LookupError, AttributeError) as e:
            print("run %s: cannot split (%s)" % (pid, e))
            continue
        ok += 1
        for name, v in ph:
            if name not in table:
                order.append(name)
            table.setdefault(name, []).append(v)
    print("%-48s %s" % ("phase, ms (strace markers)", "median of %d runs  [each run]" % ok))
    for name in order:
        v = table[name]
        print("%-48s %8.1f  [%s]" % (name, statistics.median(v), " ".join("%.1f" % x for x in v)))


if __name__ == "__main__":
    main()
