# SPDX-License-Identifier: LGPL-2.1-or-later
# Guest side of tests/vm/test-enroll-systemd.sh (busybox ash, /scenario.sh).
# Three LUKS2 disks holding the same ext4 file system (key file in slot 0):
#   vda  cvm-enroll tpm2 here, in the guest, PCR 7
#   vdb  cvm-enroll tpm2 on the host before boot, into this VM's swtpm
#        state, PCR 16 (zero on both sides; SeaBIOS measures into PCR 7)
#   vdc  systemd-cryptenroll here, in the guest, PCR 7
# The real systemd 252 tools open vda and vdb with nothing but the TPM
# token: systemd-cryptsetup attach (tpm2-device=auto; through the token
# plugin and, with SYSTEMD_CRYPTSETUP_USE_TOKEN_MODULE=0, through its own
# TPM2 code) and cryptsetup open --token-only through systemd's token
# plugin; the file on each mapping must have the host's sha256.
# cvm-enroll check must accept vdc. Then PCR 7 is extended: everything
# bound to PCR 7 must stop opening, vdb (PCR 16) must still open: the
# successes above came from the PCR policy, not from a fallback.
# Lines "cvm-<name> <value>" are read back by the host.

export TPM2TOOLS_TCTI=device:/dev/tpmrm0
# systemd logs to the console when there is no journal; keep it readable.
export SYSTEMD_LOG_TARGET=console SYSTEMD_LOG_COLOR=0

now_ms() {
        awk '{ printf "%d\n", $1 * 1000 }' /proc/uptime
}
json_field() { # json_field KEY: first "KEY":value in stdin (flat scalars only)
        sed -n "s/.*\"$1\": *\\([^,}]*\\).*/\\1/p" | head -n 1
}
# run_logged LOG CMD...: run CMD with its output in LOG; show LOG on failure.
run_logged() {
        local log=$1 rc=0
        shift
        timeout 120 "$@" >"$log" 2>&1 || rc=$?
        if [ "$rc" != 0 ]; then
                echo "cvm-demo: '$*' exited $rc:"
                sed 's/^/cvm-demo:   /' "$log"
        fi
        return "$rc"
}
# file_sha MAPPING: sha256 of data.bin on the ext4 inside /dev/mapper/MAPPING.
file_sha() {
        local sum
        mkdir -p /mnt/check
        mount -t ext4 -o ro "/dev/mapper/$1" /mnt/check || return 1
        sum=$(sha256sum /mnt/check/data.bin | cut -d' ' -f1)
        umount /mnt/check
        echo "$sum"
}
mapped() {
        test -b "/dev/mapper/$1"
}
# sd_attach NAME DEV: systemd-cryptsetup attach through the TPM2 token only.
# headless: never fall back to asking for a passphrase (there is no agent).
# systemd 252 tries libcryptsetup's token plugin first when libcryptsetup
# has plugin support (as here); its own TPM2 code only after that failed.
sd_attach() {
        run_logged "/tmp/sd-attach-$1.log" systemd-cryptsetup attach "$1" "$2" - tpm2-device=auto,headless=true
}
# sd_attach_builtin NAME DEV: the same through systemd-cryptsetup's own TPM2
# code (cryptsetup-tpm2.c), the plugin switched off.
sd_attach_builtin() {
        SYSTEMD_CRYPTSETUP_USE_TOKEN_MODULE=0 sd_attach "$@"
}
# The built-in path says so on success; the plugin path does not.
builtin_said() {
        has_text "/tmp/sd-attach-$1.log" "Automatically discovered security TPM2 token unlocks volume."
}
sd_detach() {
        run_logged "/tmp/sd-detach-$1.log" systemd-cryptsetup detach "$1"
}
# token_open NAME DEV: cryptsetup open --token-only (systemd's plugin).
token_open() {
        run_logged "/tmp/token-open-$1.log" cryptsetup open --token-only "$2" "$1"
}
# opens_both DEV TAG: both systemd paths open DEV and give the host's data.
opens_both() {
        local dev=$1 tag=$2 t0 t1
        t0=$(now_ms)
        check "$tag: systemd-cryptsetup attach opens $dev with the TPM2 token" sd_attach "sd-$tag" "$dev"
        t1=$(now_ms)
        echo "cvm-attach-ms-$tag $((t1 - t0))"
        check_eq "$tag: data read through the systemd-cryptsetup mapping" "$WANT_SHA256" "$(file_sha "sd-$tag")"
        check_fails "$tag: ... through the token plugin (not systemd's fallback)" builtin_said "sd-$tag"
        check "$tag: systemd-cryptsetup detach" sd_detach "sd-$tag"
        check_fails "$tag: mapping gone after detach" mapped "sd-$tag"

        t0=$(now_ms)
        check "$tag: systemd-cryptsetup attach opens $dev with its built-in TPM2 code" \
                sd_attach_builtin "sdb-$tag" "$dev"
        t1=$(now_ms)
        echo "cvm-attach-builtin-ms-$tag $((t1 - t0))"
        check "$tag: ... through the built-in code (it says so)" builtin_said "sdb-$tag"
        check_eq "$tag: data read through that mapping" "$WANT_SHA256" "$(file_sha "sdb-$tag")"
        check "$tag: systemd-cryptsetup detach (built-in)" sd_detach "sdb-$tag"

        t0=$(now_ms)
        check "$tag: cryptsetup open --token-only opens $dev (systemd's token plugin)" token_open "tok-$tag" "$dev"
        t1=$(now_ms)
        echo "cvm-token-open-ms-$tag $((t1 - t0))"
        check_eq "$tag: data read through the cryptsetup --token-only mapping" "$WANT_SHA256" \
                "$(file_sha "tok-$tag")"
        check "$tag: cryptsetup close" cryptsetup close "tok-$tag"
}
# opens_neither DEV TAG: neither systemd path opens DEV.
opens_neither() {
        local dev=$1 tag=$2
        check_fails "$tag: systemd-cryptsetup attach refuses $dev" sd_attach "sd-$tag" "$dev"
        check_fails "$tag: no mapping left by the refused attach" mapped "sd-$tag"
        check_fails "$tag: systemd-cryptsetup's built-in TPM2 code refuses $dev" \
                sd_attach_builtin "sdb-$tag" "$dev"
        check_fails "$tag: no mapping left by that refused attach" mapped "sdb-$tag"
        check_fails "$tag: cryptsetup open --token-only refuses $dev" token_open "tok-$tag" "$dev"
        check_fails "$tag: no mapping left by the refused open" mapped "tok-$tag"
}
has_text() { # has_text FILE TEXT
        grep -F -e "$2" "$1" >/dev/null
}

wait_for /dev/vda
wait_for /dev/vdb
wait_for /dev/vdc
wait_for /dev/tpmrm0
check "TPM device present" test -c /dev/tpmrm0
check "systemd's token plugin is where libcryptsetup looks for it" test -f "$TOKEN_PLUGIN"
mkdir -p /run/cryptsetup

# --- cvm-enroll in the guest, PCR 7 --------------------------------------
out=$(cvm-enroll tpm2 --device /dev/vda --pcrs 7 --unlock-key-file /files/key --json=short)
check_eq "vda: cvm-enroll tpm2 --pcrs 7 in the guest" true "$(echo "$out" | json_field changed)"
echo "cvm-demo: cvm-enroll tpm2: $out"
check "vda: cvm-enroll check accepts its own token" cvm-enroll check --device /dev/vda
opens_both /dev/vda cvm-pcr7

# --- cvm-enroll on the host before boot, PCR 16 ---------------------------
check "vdb: cvm-enroll check accepts the token the host enrolled" cvm-enroll check --device /dev/vdb
opens_both /dev/vdb cvm-host-pcr16

# --- the reverse: systemd-cryptenroll in the guest, cvm-enroll checks -----
check "vdc: systemd-cryptenroll --tpm2-device=auto --tpm2-pcrs=7 in the guest" \
        run_logged /tmp/cryptenroll.log systemd-cryptenroll --tpm2-device=auto --tpm2-pcrs=7 \
        --unlock-key-file=/files/key /dev/vdc
check "vdc: systemd-cryptenroll reports the new token" has_text /tmp/cryptenroll.log "New TPM2 token enrolled"
out=$(cvm-enroll check --device /dev/vdc --json=short)
rc=$?
echo "cvm-demo: cvm-enroll check on systemd's token: $out"
check_eq "vdc: cvm-enroll check passes on systemd-cryptenroll's token" 0 "$rc"
check_eq "vdc: its token opens" '"opens"' "$(echo "$out" | json_field state)"
check_eq "vdc: PCRs read from systemd's token" '"7"' "$(echo "$out" | json_field pcrs)"
out=$(cvm-enroll tpm2 --device /dev/vdc --pcrs 7 --unlock-tpm2 --json=short)
check_eq "vdc: cvm-enroll tpm2 sees systemd's PCR 7 token as already enrolled" false \
        "$(echo "$out" | json_field changed)"

# --- PCR 7 changes: only the PCR 16 volume still opens --------------------
check "extend PCR 7 (as a changed Secure Boot policy would)" \
        tpm2 pcrextend "7:sha256=$(echo cvm-enroll-systemd | sha256sum | cut -d' ' -f1)"
opens_neither /dev/vda cvm-pcr7-extended
check_fails "vda: cvm-enroll check fails after PCR 7 changed" cvm-enroll check --device /dev/vda
cvm-enroll check --device /dev/vdc >/tmp/check-vdc.out 2>&1
check_eq "vdc: cvm-enroll check fails on systemd's token after PCR 7 changed" 1 "$?"
check "vdc: the failure names PCR 7" has_text /tmp/check-vdc.out "PCRs 7)"
check "vdc: the failure says the policy differs from the PCRs" has_text /tmp/check-vdc.out \
        "policy digest differs from the current PCR values"
sed 's/^/cvm-demo:   /' /tmp/check-vdc.out
opens_both /dev/vdb cvm-host-pcr16-after
