#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# cvm-enroll reseal and reseal --finalize against swtpm, with the test-only
# --pcr-values override standing in for a prediction (the vm tier tests the
# prediction itself): a token sealed to the values PCR 7 will have after a
# known extend must not open before it and must open after it (tpm2-tools
# computes that value independently: tpm2_pcrextend + tpm2_pcrread);
# finalize keeps everything before the "update", removes only the
# outdated token after it, and refuses when no token matches the PCRs.
# Hostile --eventlog and --replace files are refused with one clear line
# and nothing written.
set -eu -o pipefail
. "$(dirname "$0")/../lib/common.sh"
. "$CVM_SRCDIR/tests/lib/swtpm.sh"
. "$CVM_SRCDIR/tests/lib/luks.sh"

require_cmd swtpm tpm2_pcrread tpm2_pcrextend

tmp=$(test_tmpdir)
at_exit rm -rf "$tmp"
swtpm_start_tcp "$tmp/tpm"
pass=$tmp/pass
luks_passfile "$pass"
img=$tmp/disk.img
luks_image "$img" "$pass"

pcr() {
        tpm2_pcrread "sha256:$1" | awk '$1 == "'"$1"'" { print tolower(substr($3, 3)) }'
}
token_field() {
        cryptsetup token export --token-id "$1" "$img" | py -c 'import json, sys; print(json.load(sys.stdin).get(sys.argv[1]))' "$2"
}

check "enroll a token sealed to PCR 7 (token 0)" enroll tpm2 --device="$img" --pcrs=7 --unlock-key-file="$pass"

# What PCR 7 will be after the "update": extended with a known digest, on a
# second swtpm, so this one stays as it is. tpm2-tools computes it.
digest=$(printf 'cvm reseal test' | sha256sum | cut -d' ' -f1)
before=$(pcr 7)
saved=("$SWTPM_PID" "$SWTPM_PORT" "$SWTPM_TCTI" "$TPM2TOOLS_TCTI")
swtpm_start_tcp "$tmp/tpm-other"
tpm2_pcrextend "7:sha256=$digest"
after=$(pcr 7)
swtpm_stop "$SWTPM_PID"
SWTPM_PID=${saved[0]} SWTPM_PORT=${saved[1]} SWTPM_TCTI=${saved[2]} TPM2TOOLS_TCTI=${saved[3]}
check_eq "this swtpm's PCR 7 is unchanged" "$before" "$(pcr 7)"
check "the two values differ" test "$before" != "$after"

# --- argument checks: usage errors, nothing written ---
state=$(luks_state "$img")
check_fails "reseal without --replace or --pcr-values" enroll reseal --device="$img" --pcrs=7
check_fails "--pcr-values for other PCRs than --pcrs" enroll reseal --device="$img" --pcrs=4+7 --pcr-values="7=$after"
check_fails "--pcr-values with a short value" enroll reseal --device="$img" --pcrs=7 --pcr-values="7=abcd"
check_fails "--replace without '='" enroll reseal --device="$img" --pcrs=7 --replace=/nonexistent
check_fails "--replace and --pcr-values together" enroll reseal --device="$img" --pcrs=7 --pcr-values="7=$after" \
        --replace=a=b
check_eq "argument errors wrote nothing" "$state" "$(luks_state "$img")"

# --- hostile inputs: clear one-line errors, nothing written ---
python3 "$CVM_SRCDIR/tests/generators/eventlog-corrupt.py" "$CVM_SRCDIR/fuzz/corpus/fuzz-eventlog/ovmf-sb-uki.bin" \
        "$tmp/bad-logs"
python3 "$CVM_SRCDIR/tests/generators/pe-corrupt.py" "$CVM_SRCDIR/fuzz/corpus/fuzz-pe/mini-uki-signed.efi" \
        "$tmp/bad-pe"
good_efi=$CVM_SRCDIR/fuzz/corpus/fuzz-pe/mini-uki-signed.efi
while IFS=$'\t' read -r n name; do
        rc=0
        err=$(enroll reseal --device="$img" --pcrs=4 --eventlog="$tmp/bad-logs/$n.bin" \
                --replace="$good_efi=$good_efi" 2>&1 >/dev/null) || rc=$?
        check_eq "hostile event log '$name': exit 1" 1 "$rc"
        check "hostile event log '$name': one line naming the log" \
                test "$(wc -l <<<"$err")" = 1 -a -n "$(grep -F "Invalid TPM event log '$tmp/bad-logs/$n.bin': " <<<"$err")"
done <"$tmp/bad-logs/cases.tsv"
# The real log replays, but not to this swtpm's PCRs: refused as well.
err=$(enroll reseal --device="$img" --pcrs=4 --eventlog="$CVM_SRCDIR/fuzz/corpus/fuzz-eventlog/ovmf-sb-uki.bin" \
        --replace="$good_efi=$good_efi" 2>&1 >/dev/null || :)
check "a log of another boot is refused" contains "$err" "does not give the TPM's value"
# reseal checks the log against the TPM before it reads any boot file, and
# no log matches a swtpm here: hostile PE files go through the test driver
# (the same parser and error text); the vm tier runs reseal on real ones.
while IFS=$'\t' read -r n name; do
        rc=0
        err=$("$CVM_TESTTOOL" pe "$tmp/bad-pe/$n.efi" 2>&1 >/dev/null) || rc=$?
        check_eq "hostile PE '$name': refused" 1 "$rc"
        check "hostile PE '$name': says why" contains "$err" "Bad PE image: "
done <"$tmp/bad-pe/cases.tsv"
check_eq "hostile inputs wrote nothing" "$state" "$(luks_state "$img")"

# --- reseal to the values after the "update" ---
out=$(enroll reseal --device="$img" --pcrs=7 --pcr-values="7=$after" --json=short)
check_eq "reseal added token 1" 1 "$(json_field "$out" token)"
check_eq "reseal reports a change" True "$(json_field "$out" changed)"
check_eq "token 1 is pending" True "$(token_field 1 cvm-reseal-pending)"
check_eq "token 0 is not pending" None "$(token_field 0 cvm-reseal-pending)"
out=$(enroll reseal --device="$img" --pcrs=7 --pcr-values="7=$after" --json=short)
check_eq "reseal again is a no-op" False "$(json_field "$out" changed)"
check_eq "two tokens" "0 1" "$(luks_tokens "$img")"
out=$(enroll check --device="$img" --json=short)
token_state() {
        py -c 'import json, sys; print(" ".join("%d:%s" % (t["token"], t["state"]) for t in json.loads(sys.argv[1])["tokens"]))' "$1"
}
check_eq "before the update token 0 opens, token 1 not yet" "0:opens 1:$(token_state "$out" | sed 's/.* 1://')" \
        "$(token_state "$out")"
check_fails "before the update token 1 does not open" contains "$(token_state "$out")" "1:opens"

state=$(luks_state "$img")
check "finalize before the update succeeds" enroll reseal --finalize --device="$img"
check_eq "finalize before the update writes nothing" "$state" "$(luks_state "$img")"

# --- the "update" happens ---
tpm2_pcrextend "7:sha256=$digest"
check_eq "PCR 7 is what was sealed to" "$after" "$(pcr 7)"
out=$(enroll check --device="$img")
echo "$out"
check "after the update token 0 does not open" contains "$out" "token 0 (keyslot 1, PCRs 7): does not open"
check "after the update token 1 (still pending) opens" contains "$out" \
        "token 1 (keyslot 2, PCRs 7, resealed for the next boot): opens the volume"

out=$(enroll reseal --finalize --device="$img" --dry-run)
check "finalize --dry-run names token 0" contains "$out" "Would remove TPM2 token 0."
out=$(enroll reseal --finalize --device="$img" --json=short)
check_eq "finalize removed token 0 only" "[0]" "$(py -c 'import json,sys; print(json.dumps(json.loads(sys.argv[1])["removed_tokens"]).replace(" ", ""))' "$out")"
check_eq "token 1 is left" "1" "$(luks_tokens "$img")"
check_eq "keyslots: the passphrase and token 1's" "0 2" "$(luks_slots "$img")"
check_eq "token 1 is no longer pending" None "$(token_field 1 cvm-reseal-pending)"
check "the remaining token opens the volume" enroll check --device="$img"
check "the passphrase still opens slot 0" luks_opens "$img" 0 "$pass"
state=$(luks_state "$img")
check "finalize again succeeds" enroll reseal --finalize --device="$img"
check_eq "finalize again writes nothing" "$state" "$(luks_state "$img")"

# --- never the last working key: no token matches the PCRs any more ---
tpm2_pcrextend "7:sha256=$digest"
rc=0
err=$(enroll reseal --finalize --device="$img" 2>&1) || rc=$?
check_eq "finalize with no matching token fails" 1 "$rc"
check "and says why" contains "$err" "refusing to remove any token"
check_eq "and writes nothing" "$state" "$(luks_state "$img")"

# A systemd-cryptenroll token is left alone by finalize unless outdated:
# reseal's tokens are ordinary systemd-tpm2 tokens for systemd 252.
if command -v systemd-cryptenroll >/dev/null; then
        check "systemd-cryptenroll enrolls next to ours" env PASSWORD="$(cat "$pass")" \
                systemd-cryptenroll --tpm2-device="$SWTPM_TCTI" --tpm2-pcrs=7 "$img"
        check "finalize keeps systemd's token (it matches now)" enroll reseal --finalize --device="$img"
        check "systemd's token is still there" test "$(wc -w <<<"$(luks_tokens "$img")")" = 2
fi
check_done
