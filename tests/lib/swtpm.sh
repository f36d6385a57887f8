# SPDX-License-Identifier: LGPL-2.1-or-later
# swtpm fixtures: one fresh TPM per test, stopped by pid (never by name).
# Source after common.sh.
#
#   swtpm_start_tcp DIR         host tier: TPM on a free loopback port.
#                               Sets SWTPM_PID, SWTPM_PORT, SWTPM_TCTI and
#                               exports TPM2TOOLS_TCTI for tpm2-tools.
#   swtpm_start_vm DIR          vm tier: TPM behind a unix ctrl socket for
#                               qemu's -tpmdev emulator. Sets SWTPM_PID and
#                               SWTPM_SOCK.
#   swtpm_setup_ek DIR          before start: provision EK + EK certificate
#                               (swtpm_setup --create-ek-cert, swtpm-localca).
#   swtpm_lockout TMPDIR        put the TPM at TPM2TOOLS_TCTI in dictionary-
#                               attack lockout with tpm2-tools alone (maxTries
#                               1, recovery 600 s, then one failed
#                               authorization of a DA-protected object);
#                               fails unless tpm2_getcap says inLockout: 1.
#                               TMPDIR holds the tools' context files.
# Each start registers its own stop with at_exit.

swtpm_setup_ek() {
        local dir=$1
        require_cmd swtpm_setup
        mkdir -p "$dir"
        swtpm_setup --tpm2 --tpmstate "$dir" --create-ek-cert --create-platform-cert \
                --lock-nvram --overwrite --display >"$dir/setup.log" 2>&1 ||
                die "swtpm_setup failed: $(tail -5 "$dir/setup.log")"
}

# _swtpm_wait_pid PID CMD...: wait until CMD succeeds while PID lives.
_swtpm_wait_pid() {
        local pid=$1 i
        shift
        # Up to 20 s: a loaded 2-core CI machine running qemu is slow to fork.
        for i in $(seq 1 200); do
                kill -0 "$pid" 2>/dev/null || return 1
                "$@" 2>/dev/null && return 0
                sleep 0.1
        done
        return 1
}

_swtpm_port_open() {
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

swtpm_stop() {
        local pid=$1
        [ -n "$pid" ] || return 0
        kill "$pid" 2>/dev/null || return 0
        local i
        for i in $(seq 1 30); do
                kill -0 "$pid" 2>/dev/null || return 0
                sleep 0.1
        done
        kill -9 "$pid" 2>/dev/null
}

# enroll ARGS...: cvm-enroll against the swtpm swtpm_start_tcp started
# (a test that needs another TPM address defines its own).
enroll() {
        "$CVM_ENROLL" --tpm2-device="$SWTPM_TCTI" "$@"
}

swtpm_start_tcp() {
        local dir=$1 try port pid
        require_cmd swtpm
        mkdir -p "$dir"
        for try in $(seq 1 20); do
                port=$((20000 + (RANDOM % 20000) * 2))
                _swtpm_port_open "$port" && continue
                _swtpm_port_open $((port + 1)) && continue
                swtpm socket --tpm2 --tpmstate dir="$dir" \
                        --server type=tcp,port="$port",bindaddr=127.0.0.1 \
                        --ctrl type=tcp,port=$((port + 1)),bindaddr=127.0.0.1 \
                        --flags not-need-init,startup-clear \
                        --log file="$dir/swtpm.log" >/dev/null 2>&1 &
                pid=$!
                if _swtpm_wait_pid "$pid" _swtpm_port_open "$port"; then
                        SWTPM_PID=$pid
                        SWTPM_PORT=$port
                        SWTPM_TCTI="swtpm:host=127.0.0.1,port=$port"
                        export TPM2TOOLS_TCTI=$SWTPM_TCTI
                        at_exit swtpm_stop "$pid"
                        return 0
                fi
                swtpm_stop "$pid"
        done
        die "could not start swtpm on a free port"
}

swtpm_start_vm() {
        local dir=$1 pid
        require_cmd swtpm
        mkdir -p "$dir"
        SWTPM_SOCK=$dir/swtpm-sock
        rm -f "$SWTPM_SOCK"
        swtpm socket --tpm2 --tpmstate dir="$dir" \
                --ctrl type=unixio,path="$SWTPM_SOCK" \
                --log file="$dir/swtpm.log" >/dev/null 2>&1 &
        pid=$!
        if ! _swtpm_wait_pid "$pid" test -S "$SWTPM_SOCK"; then
                swtpm_stop "$pid"
                die "swtpm did not create $SWTPM_SOCK"
        fi
        SWTPM_PID=$pid
        at_exit swtpm_stop "$pid"
}

swtpm_lockout() {
        local d=$1
        require_cmd tpm2_dictionarylockout tpm2_unseal tpm2_getcap
        mkdir -p "$d"
        tpm2_dictionarylockout -Q -s -n 1 -t 600 -l 600
        tpm2_createprimary -Q -C o -c "$d/p.ctx"
        tpm2_flushcontext -t
        tpm2_create -Q -C "$d/p.ctx" -p right -i- -u "$d/o.pub" -r "$d/o.priv" <<<"x"
        tpm2_flushcontext -t
        tpm2_load -Q -C "$d/p.ctx" -u "$d/o.pub" -r "$d/o.priv" -c "$d/o.ctx"
        tpm2_flushcontext -t
        ! tpm2_unseal -c "$d/o.ctx" -p wrong >/dev/null 2>&1 || return 1
        tpm2_flushcontext -t
        [ "$(tpm2_getcap properties-variable | sed -n 's/^ *inLockout: *//p')" = 1 ]
}
