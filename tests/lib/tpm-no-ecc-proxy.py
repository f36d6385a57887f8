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
import struct
import sys
import threading

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tpm_proxy  # noqa: E402

TPM2_CC_CREATE_PRIMARY = 0x00000131
TPM2_ALG_ECC = 0x0023
TPM2_ST_SESSIONS = 0x8002
# TPM_RC_CURVE (format 1, 0x026) for parameter 2 (inPublic): 0x080 | 0x026 | TPM_RC_P | 2 << 8
RC_CURVE_P2 = 0x000002E6

refused = 0
refused_lock = threading.Lock()


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


def relay_no_ecc(client, server, pidfile):
    """Answers ECC CreatePrimary itself, passes every other command on; the
    responses go back raw."""
    def pass_on(cmd, _cc):
        global refused
        if is_ecc_create_primary(cmd):
            with refused_lock:
                refused += 1
                with open(pidfile + ".refused", "w") as f:
                    f.write(f"{refused}\n")
            client.sendall(struct.pack(">HII", 0x8001, 10, RC_CURVE_P2))
        else:
            server.sendall(cmd)
        return True

    tpm_proxy.relay_responses(server, client)
    tpm_proxy.relay_commands(client, server, pass_on)


def main():
    swtpm_port = int(sys.argv[1])
    pidfile = sys.argv[2]
    tpm_proxy.run(swtpm_port, pidfile, lambda client, server: relay_no_ecc(client, server, pidfile))


if __name__ == "__main__":
    main()
