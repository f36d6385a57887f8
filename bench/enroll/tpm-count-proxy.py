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
import random
import socket
import struct
import sys
import threading
import time

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


def recv_exact(s, n):
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return buf


def recv_message(s):
    """One TPM command or response: a 10-byte header whose size field
    covers the whole message."""
    hdr = recv_exact(s, 10)
    if hdr is None:
        return None
    _tag, size, code = struct.unpack(">HII", hdr)
    body = recv_exact(s, size - 10) if size > 10 else b""
    if body is None:
        return None
    return hdr + body, code


def shut(*socks):
    for s in socks:
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def relay_raw(src, dst):
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            dst.sendall(data)
    except OSError:
        pass
    finally:
        shut(src, dst)


def relay_counted(client, server, logfile):
    try:
        while True:
            m = recv_message(client)
            if m is None:
                break
            cmd, cc = m
            server.sendall(cmd)
            t0 = time.monotonic_ns()
            m = recv_message(server)
            if m is None:
                break
            us = (time.monotonic_ns() - t0) // 1000
            rsp, rc = m
            with log_lock, open(logfile, "a") as f:
                f.write(f"0x{cc:08x} 0x{rc:08x} {us}\n")
            client.sendall(rsp)
    except OSError:
        pass
    finally:
        shut(client, server)


def serve(listener, target_port, logfile):
    while True:
        client, _ = listener.accept()
        server = socket.create_connection(("127.0.0.1", target_port))
        if logfile:
            threading.Thread(target=relay_counted, args=(client, server, logfile), daemon=True).start()
        else:
            threading.Thread(target=relay_raw, args=(server, client), daemon=True).start()
            threading.Thread(target=relay_raw, args=(client, server), daemon=True).start()


def listen_pair():
    for _ in range(50):
        port = random.randrange(20000, 60000, 2)
        a, b = socket.socket(), socket.socket()
        try:
            a.bind(("127.0.0.1", port))
            b.bind(("127.0.0.1", port + 1))
        except OSError:
            a.close()
            b.close()
            continue
        a.listen(8)
        b.listen(8)
        return port, a, b
    sys.exit("no free port pair")


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
    port, cmd_l, ctrl_l = listen_pair()
    with open(pidfile, "w") as f:
        f.write(f"{os.getpid()}\n")
    threading.Thread(target=serve, args=(ctrl_l, swtpm_port + 1, None), daemon=True).start()
    print(port, flush=True)
    sys.stdout.close()
    serve(cmd_l, swtpm_port, logfile)


if __name__ == "__main__":
    main()
