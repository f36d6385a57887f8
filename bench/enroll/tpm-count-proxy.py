#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Count the TPM commands a client sends, by sitting between it and swtpm.

Relays tpm2-tss's "swtpm:" TCTI (command port P, control port P+1) to a
running swtpm. On the command port every TPM command is read whole (its
header says its size), passed on, and its response read whole and passed
back; before the response goes back one line "CC RC US" (hex command
code, hex response code, microseconds from the command's last byte sent
to the response's last byte received: the TPM's time plus one loopback
round trip) is appended to LOGFILE. A client that has seen its
last response has therefore had every command logged: the caller may count
the lines as soon as the client exits. The control port (swtpm's power and
locality requests, not TPM commands) is relayed unchanged and not counted.

    tpm-count-proxy.py SWTPM_PORT PIDFILE LOGFILE

Prints the proxy's command port on stdout once both ports listen, and
writes its pid to PIDFILE (the caller stops it by that pid).

    tpm-count-proxy.py --names LOGFILE...

prints "count name" per command code over the given logs (one line each).

    tpm-count-proxy.py --tpm-ms LOGFILE

prints the sum of the US column in milliseconds.
"""
import collections
import os
import sys
import threading
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "lib"))
import tpm_proxy  # noqa: E402

# TPM 2.0 Part 2, table 12 (TPM_CC), the codes clients of this project send.
CC_NAMES = {
    0x120: "EvictControl", 0x131: "CreatePrimary", 0x137: "NV_Write", 0x144: "Startup",
    0x145: "Shutdown", 0x146: "StirRandom", 0x14E: "NV_Read", 0x151: "PolicySecret",
    0x153: "Create", 0x156: "Import", 0x157: "Load", 0x158: "Quote", 0x15E: "Unseal",
    0x161: "ContextLoad", 0x162: "ContextSave", 0x165: "FlushContext", 0x167: "LoadExternal",
    0x169: "NV_ReadPublic", 0x16A: "PolicyAuthorize", 0x16B: "PolicyAuthValue",
    0x16C: "PolicyCommandCode", 0x171: "PolicyOR", 0x173: "ReadPublic",
    0x176: "StartAuthSession", 0x177: "VerifySignature", 0x17A: "GetCapability",
    0x17B: "GetRandom", 0x17C: "GetTestResult", 0x17D: "Hash", 0x17E: "PCR_Read",
    0x17F: "PolicyPCR", 0x180: "PolicyRestart", 0x182: "PCR_Extend", 0x189: "PolicyGetDigest",
    0x18A: "TestParms", 0x18C: "PolicyPassword", 0x191: "CreateLoaded",
}

log_lock = threading.Lock()


def relay_counted(client, server, logfile):
    def pass_on(cmd, cc):
        server.sendall(cmd)
        t0 = time.monotonic_ns()
        m = tpm_proxy.recv_message(server)
        if m is None:
            return False
        us = (time.monotonic_ns() - t0) // 1000
        rsp, rc = m
        with log_lock, open(logfile, "a") as f:
            f.write(f"0x{cc:08x} 0x{rc:08x} {us}\n")
        client.sendall(rsp)
        return True

    tpm_proxy.relay_commands(client, server, pass_on)


def names(logs):
    counts = collections.Counter()
    for log in logs:
        with open(log) as f:
            for line in f:
                cc, rc = (int(x, 16) for x in line.split()[:2])
                name = CC_NAMES.get(cc, f"0x{cc:x}")
                counts[name if rc == 0 else f"{name}(rc=0x{rc:x})"] += 1
    for name, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
        print(n, name)


def tpm_ms(log):
    with open(log) as f:
        print("%.1f" % (sum(int(line.split()[2]) for line in f) / 1000))


def main():
    if sys.argv[1] == "--names":
        names(sys.argv[2:])
        return
    if sys.argv[1] == "--tpm-ms":
        tpm_ms(sys.argv[2])
        return
    swtpm_port, pidfile, logfile = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    tpm_proxy.run(swtpm_port, pidfile, lambda client, server: relay_counted(client, server, logfile))


if __name__ == "__main__":
    main()
