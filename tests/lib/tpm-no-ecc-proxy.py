#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""A TPM without ECC, made from swtpm (0.7 has no profiles to turn ECC off).

Relays tpm2-tss's "swtpm:" TCTI (command port P, control port P+1) to a
running swtpm, but answers every TPM2_CreatePrimary whose template is ECC with
TPM_RC_CURVE itself, so clients that try ECC first and fall back to RSA (systemd
252, cvm-enroll) take their RSA path. Everything else passes through unchanged.

    tpm-no-ecc-proxy.py SWTPM_PORT PIDFILE

Prints the proxy's command port on stdout once both ports listen, and writes
its pid to PIDFILE (the caller stops it by that pid). Counts the refusals in
PIDFILE.refused so a test can prove the ECC path was really tried and refused.
"""
import os
import random
import socket
import struct
import sys
import threading

TPM2_CC_CREATE_PRIMARY = 0x00000131
TPM2_ALG_ECC = 0x0023
TPM2_ST_SESSIONS = 0x8002
# TPM_RC_CURVE (format 1, 0x026) for parameter 2 (inPublic): 0x080 | 0x026 | TPM_RC_P | 2 << 8
RC_CURVE_P2 = 0x000002E6

refused = 0
refused_lock = threading.Lock()


def recv_exact(s, n):
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return buf


def is_ecc_create_primary(cmd):
    """cmd = a whole TPM command. Header, primaryHandle, [auth area],
    inSensitive (TPM2B), inPublic (TPM2B: size, then TPMT_PUBLIC.type)."""
    tag, _size, cc = struct.unpack(">HII", cmd[:10])
    if cc != TPM2_CC_CREATE_PRIMARY:
        return False
    off = 14
    try:
        if tag == TPM2_ST_SESSIONS:
            (auth_size,) = struct.unpack(">I", cmd[off:off + 4])
            off += 4 + auth_size
        (sens_size,) = struct.unpack(">H", cmd[off:off + 2])
        off += 2 + sens_size
        _pub_size, alg = struct.unpack(">HH", cmd[off:off + 4])
    except struct.error:
        return False
    return alg == TPM2_ALG_ECC


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
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def relay_commands(client, server, pidfile):
    global refused
    try:
        while True:
            hdr = recv_exact(client, 10)
            if hdr is None:
                break
            _tag, size, _cc = struct.unpack(">HII", hdr)
            body = recv_exact(client, size - 10) if size > 10 else b""
            if body is None:
                break
            cmd = hdr + body
            if is_ecc_create_primary(cmd):
                with refused_lock:
                    refused += 1
                    with open(pidfile + ".refused", "w") as f:
                        f.write(f"{refused}\n")
                client.sendall(struct.pack(">HII", 0x8001, 10, RC_CURVE_P2))
                continue
            server.sendall(cmd)
    except OSError:
        pass
    finally:
        for s in (client, server):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def serve(listener, target_port, commands, pidfile):
    while True:
        client, _ = listener.accept()
        server = socket.create_connection(("127.0.0.1", target_port))
        threading.Thread(target=relay_raw, args=(server, client), daemon=True).start()
        if commands:
            threading.Thread(target=relay_commands, args=(client, server, pidfile), daemon=True).start()
        else:
            threading.Thread(target=relay_raw, args=(client, server), daemon=True).start()


def listen_pair():
    for _ in range(50):
        port = random.randrange(20000, 60000, 2)
        a = socket.socket()
        b = socket.socket()
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


def main():
    swtpm_port = int(sys.argv[1])
    pidfile = sys.argv[2]
    port, cmd_l, ctrl_l = listen_pair()
    with open(pidfile, "w") as f:
        f.write(f"{os.getpid()}\n")
    threading.Thread(target=serve, args=(ctrl_l, swtpm_port + 1, False, pidfile), daemon=True).start()
    print(port, flush=True)
    sys.stdout.close()
    serve(cmd_l, swtpm_port, True, pidfile)


if __name__ == "__main__":
    main()
