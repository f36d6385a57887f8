# SPDX-License-Identifier: LGPL-2.1-or-later
"""The TCP relay the TPM proxies share (tests/lib/tpm-no-ecc-proxy.py,
bench/enroll/tpm-count-proxy.py).

A proxy sits between tpm2-tss's "swtpm:" TCTI (command port P, control
port P+1) and a running swtpm. The control port (swtpm's power and
locality requests, not TPM commands) is relayed unchanged; what happens on
the command port is the proxy's own handler(client, server), run in a
thread of its own for each connection.
"""
import os
import random
import socket
import struct
import sys
import threading


def recv_exact(s, n):
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return buf


def recv_message(s):
    """One TPM command or response, as (bytes, code): a 10-byte header whose
    size field covers the whole message; code is the command or response
    code. None at the end of the stream."""
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
    """Copy src to dst until either end closes; then close both."""
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


def relay_commands(client, server, on_command):
    """Read the client's TPM commands one at a time and hand each to
    on_command(cmd, code) until the client closes or on_command returns
    False; then close both."""
    try:
        while True:
            m = recv_message(client)
            if m is None or not on_command(*m):
                break
    except OSError:
        pass
    finally:
        shut(client, server)


def relay_responses(server, client):
    """Start copying server's responses back to client in a thread."""
    threading.Thread(target=relay_raw, args=(server, client), daemon=True).start()


def relay_duplex(client, server):
    relay_responses(server, client)
    relay_raw(client, server)


def serve(listener, target_port, handler):
    while True:
        client, _ = listener.accept()
        server = socket.create_connection(("127.0.0.1", target_port))
        threading.Thread(target=handler, args=(client, server), daemon=True).start()


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


def run(swtpm_port, pidfile, command_handler):
    """Listen on a free port pair, write our pid to pidfile, print the
    command port on stdout once both ports listen, and relay for ever."""
    port, cmd_l, ctrl_l = listen_pair()
    with open(pidfile, "w") as f:
        f.write(f"{os.getpid()}\n")
    threading.Thread(target=serve, args=(ctrl_l, swtpm_port + 1, relay_duplex), daemon=True).start()
    print(port, flush=True)
    sys.stdout.close()
    serve(cmd_l, swtpm_port, command_handler)
