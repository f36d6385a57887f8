#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# cvm-enroll ⇄ systemd-cryptenroll 252, both directions, on LUKS2 image
# files and one fresh swtpm:
#  (a) what systemd-cryptenroll enrolled (PCR 7, PCRs 4+7, an RSA primary
#      forced by a TPM proxy that refuses ECC) passes `cvm-enroll check`;
#  (b) what `cvm-enroll tpm2` enrolled has exactly systemd's token fields,
#      types and order; its blob unseals with tpm2-tools alone under
#      systemd's primary template, and base64 of the secret opens the
#      token's keyslot; systemd-cryptenroll sees the PCR set as enrolled;
#  (c) a rerun of `cvm-enroll tpm2` writes nothing.
set -eu -o pipefail
. "$(dirname "$0")/../lib/common.sh"
. "$CVM_SRCDIR/tests/lib/swtpm.sh"
. "$CVM_SRCDIR/tests/lib/luks.sh"
. "$CVM_SRCDIR/tests/lib/tpm2-oracle.sh"

require_cmd swtpm systemd-cryptenroll tpm2_createprimary tpm2_load tpm2_startauthsession tpm2_policypcr \
        tpm2_unseal tpm2_flushcontext tpm2_pcrextend
tmp=$(test_tmpdir)
at_exit rm -rf "$tmp"
swtpm_start_tcp "$tmp/tpm"

# Measured-looking PCRs, so systemd does not warn that the policy is void.
tpm2_pcrextend "4:sha256=$(printf 'shim' | sha256sum | cut -d' ' -f1)" \
        "7:sha256=$(printf 'secureboot' | sha256sum | cut -d' ' -f1)"

pass=$tmp/pass
luks_passfile "$pass" "build passphrase"

# systemd-cryptenroll on TCTI $2 (default: the swtpm), unlocking with the
# passphrase file. Its log goes to $tmp/sd.log for the "already enrolled" test.
sd_enroll() {
        local img=$1 pcrs=$2 tcti=${3:-$SWTPM_TCTI}
        local rc=0
        systemd-cryptenroll --tpm2-device="$tcti" --tpm2-pcrs="$pcrs" --unlock-key-file="$pass" "$img" \
                >"$tmp/sd.log" 2>&1 || rc=$?
        # systemd 252 leaves a session loaded; swtpm has no resource manager
        # to clean up after it and holds only three.
        tpm2_flushcontext --loaded-session
        return $rc
}
# No TPM object or session left behind (swtpm has no resource manager).
tpm_clean() {
        [ -z "$(tpm2_getcap handles-loaded-session)" ] && [ -z "$(tpm2_getcap handles-transient)" ]
}
token_json() {
        cryptsetup token export --token-id "$2" "$1"
}

# Independent unseal of the token's blob with tpm2-tools only
# (tests/lib/tpm2-oracle.sh); the raw secret goes to $tmp/tools/secret.
tools_unseal() {
        mkdir -p "$tmp/tools"
        py -c 'import base64, json, sys; sys.stdout.buffer.write(base64.b64decode(json.loads(sys.argv[1])["tpm2-blob"]))' \
                "$1" >"$tmp/tools/blob"
        oracle_unseal "$tmp/tools/blob" "$2" "$3" "$tmp/tools/secret"
}
# base64(secret) — the passphrase systemd derives — opens keyslot $2.
tools_secret_opens() {
        base64 -w0 "$tmp/tools/secret" | luks_opens "$1" "$2"
}

# A TPM without ECC: the proxy answers ECC CreatePrimary with TPM_RC_CURVE.
proxy_port=
start_no_ecc_proxy() {
        "$CVM_PYTHON" "$CVM_SRCDIR/tests/lib/tpm-no-ecc-proxy.py" "$SWTPM_PORT" "$tmp/proxy.pid" \
                >"$tmp/proxy.port" &
        local job=$!
        for _ in $(seq 1 50); do
                [ -s "$tmp/proxy.port" ] && break
                sleep 0.1
        done
        [ -s "$tmp/proxy.port" ] || die "TPM proxy did not start"
        at_exit "kill $job; wait $job 2>/dev/null"
        proxy_port=$(cat "$tmp/proxy.port")
}
proxy_refusals() {
        cat "$tmp/proxy.pid.refused" 2>/dev/null || echo 0
}

echo "# (a) systemd-cryptenroll enrolls, cvm-enroll checks"
for pcrs in 7 4+7; do
        img=$tmp/sd-$pcrs.img
        luks_image "$img" "$pass"
        sd_enroll "$img" "$pcrs" || die "systemd-cryptenroll --tpm2-pcrs=$pcrs failed: $(cat "$tmp/sd.log")"
        out=$(enroll check --device="$img" --json || true)
        check "check passes on systemd's PCR $pcrs token" enroll check --device="$img"
        check_eq "check --json: token state (PCRs $pcrs)" opens \
                "$(py -c 'import json, sys; print(json.loads(sys.argv[1])["tokens"][0]["state"])' "$out")"
        check_eq "check --json: PCRs read from systemd's token" "$pcrs" \
                "$(py -c 'import json, sys; print(json.loads(sys.argv[1])["tokens"][0]["pcrs"])' "$out")"
done

# cvm-enroll recognises systemd's token as the same enrollment.
before=$(luks_state "$tmp/sd-7.img")
out=$(enroll tpm2 --device="$tmp/sd-7.img" --pcrs=7 --unlock-key-file="$pass" --json)
check_eq "cvm-enroll tpm2 on a systemd-enrolled volume: changed" False "$(json_field "$out" changed)"
check_eq "cvm-enroll tpm2 on a systemd-enrolled volume: nothing written" "$before" \
        "$(luks_state "$tmp/sd-7.img")"

# RSA primary: swtpm 0.7 cannot switch ECC off, so systemd is sent through
# a proxy that refuses ECC primaries (systemd 252 then falls back to RSA).
start_no_ecc_proxy
img=$tmp/sd-rsa.img
luks_image "$img" "$pass"
sd_enroll "$img" 7 "swtpm:host=127.0.0.1,port=$proxy_port" ||
        die "systemd-cryptenroll through the no-ECC proxy failed: $(cat "$tmp/sd.log")"
check "proxy refused systemd's ECC primary" test "$(proxy_refusals)" -ge 1
check_eq "systemd fell back to an RSA primary" rsa "$(json_field "$(token_json "$img" 0)" tpm2-primary-alg)"
check "check passes on systemd's RSA-primary token" enroll check --device="$img"

echo "# (b) cvm-enroll enrolls, systemd and tpm2-tools read it"
img=$tmp/cvm.img
luks_image "$img" "$pass"
out=$(enroll tpm2 --device="$img" --unlock-key-file="$pass" --json)
check_eq "cvm-enroll tpm2: changed" True "$(json_field "$out" changed)"
check "cvm-enroll tpm2 left no handle loaded in the TPM" tpm_clean
slot=$(json_field "$out" keyslot)
token=$(json_field "$out" token)
cvm_tok=$(token_json "$img" "$token")
sd_tok=$(token_json "$tmp/sd-7.img" 0)

# Field names, order and JSON types as systemd 252 writes them; same PCRs,
# bank, primary and, on the same TPM with the same PCR values, the same
# policy hash; blobs of the same structure and size.
cmp_tokens() {
        py - "$1" "$2" <<'PY'
import base64, json, sys
ours, theirs = json.loads(sys.argv[1]), json.loads(sys.argv[2])
fail = []
if list(ours) != list(theirs):
    fail.append(f"keys {list(ours)} != systemd's {list(theirs)}")
for k in theirs:
    if k in ours and type(ours[k]) is not type(theirs[k]):
        fail.append(f"{k}: {type(ours[k]).__name__} != {type(theirs[k]).__name__}")
    if isinstance(theirs[k], list) and k in ours and isinstance(ours[k], list):
        if {type(e) for e in ours[k]} != {type(e) for e in theirs[k]}:
            fail.append(f"{k}: element types differ")
for k in ("tpm2-pcrs", "tpm2-pcr-bank", "tpm2-primary-alg", "tpm2-policy-hash", "tpm2-pin"):
    if ours.get(k) != theirs.get(k):
        fail.append(f"{k}: {ours.get(k)!r} != systemd's {theirs.get(k)!r}")
if len(base64.b64decode(ours["tpm2-blob"])) != len(base64.b64decode(theirs["tpm2-blob"])):
    fail.append("blob sizes differ")
for f in fail:
    print(f)
sys.exit(1 if fail else 0)
PY
}
check "token has systemd 252's fields, order, types and values" cmp_tokens "$cvm_tok" "$sd_tok"
check_eq "token names the new keyslot" "['$slot']" "$(json_field "$cvm_tok" keyslots)"

check "tpm2-tools unseal cvm-enroll's blob (systemd's ECC template)" tools_unseal "$cvm_tok" ecc 7
check_eq "unsealed secret is 32 bytes" 32 "$(stat -c %s "$tmp/tools/secret")"
check "base64(secret) opens the token's keyslot $slot" tools_secret_opens "$img" "$slot"
check_fails "base64(secret) does not open slot 0 (the check can fail)" tools_secret_opens "$img" 0

before=$(luks_state "$img")
check "systemd-cryptenroll accepts the volume for PCR 7" sd_enroll "$img" 7
check "systemd-cryptenroll: PCR 7 already enrolled" contains "$(cat "$tmp/sd.log")" "already enrolled"
check_eq "systemd-cryptenroll wrote nothing" "$before" "$(luks_state "$img")"

echo "# (b2) no PCRs (--tpm2-pcrs=): bound to the TPM only, no PolicyPCR"
none_img=$tmp/sd-none.img
luks_image "$none_img" "$pass"
sd_enroll "$none_img" "" || die "systemd-cryptenroll --tpm2-pcrs= failed: $(cat "$tmp/sd.log")"
check "check passes on systemd's token without PCRs" enroll check --device="$none_img"
sd_none_tok=$(token_json "$none_img" 0)
none_img=$tmp/cvm-none.img
luks_image "$none_img" "$pass"
out=$(enroll tpm2 --device="$none_img" --pcrs= --unlock-key-file="$pass" --json)
check_eq "cvm-enroll tpm2 --pcrs=: changed" True "$(json_field "$out" changed)"
check "token without PCRs has systemd 252's fields and values" \
        cmp_tokens "$(token_json "$none_img" "$(json_field "$out" token)")" "$sd_none_tok"
before=$(luks_state "$none_img")
check "systemd-cryptenroll accepts the volume for no PCRs" sd_enroll "$none_img" ""
check "systemd-cryptenroll: empty PCR set already enrolled" contains "$(cat "$tmp/sd.log")" "already enrolled"
check_eq "systemd-cryptenroll wrote nothing (no PCRs)" "$before" "$(luks_state "$none_img")"

echo "# (c) a rerun of cvm-enroll tpm2 is a no-op"
before=$(luks_state "$img")
out=$(enroll tpm2 --device="$img" --unlock-key-file="$pass" --json)
check_eq "rerun: changed" False "$(json_field "$out" changed)"
check_eq "rerun: same token" "$token" "$(json_field "$out" token)"
check_eq "rerun: header and image unchanged" "$before" "$(luks_state "$img")"
enroll check --device="$img" >/dev/null
check "cvm-enroll check left no handle loaded in the TPM" tpm_clean

echo "# (b) again for PCRs 4+7"
out=$(enroll tpm2 --device="$img" --pcrs=4+7 --unlock-key-file="$pass" --json)
check_eq "cvm-enroll tpm2 --pcrs=4+7: changed" True "$(json_field "$out" changed)"
slot47=$(json_field "$out" keyslot)
tok47=$(token_json "$img" "$(json_field "$out" token)")
check "PCRs 4+7 token matches systemd's" cmp_tokens "$tok47" "$(token_json "$tmp/sd-4+7.img" 0)"
check "tpm2-tools unseal the 4+7 blob" tools_unseal "$tok47" ecc 4,7
check "base64(secret) opens keyslot $slot47" tools_secret_opens "$img" "$slot47"
before=$(luks_state "$img")
sd_enroll "$img" 4+7 || true
check "systemd-cryptenroll: PCRs 4+7 already enrolled" contains "$(cat "$tmp/sd.log")" "already enrolled"
check_eq "systemd-cryptenroll wrote nothing (4+7)" "$before" "$(luks_state "$img")"

echo "# (b) again with an RSA primary (no-ECC proxy)"
img=$tmp/cvm-rsa.img
luks_image "$img" "$pass"
refused=$(proxy_refusals)
out=$("$CVM_ENROLL" --tpm2-device="swtpm:host=127.0.0.1,port=$proxy_port" tpm2 --device="$img" \
        --unlock-key-file="$pass" --json 2>"$tmp/rsa.err")
check "proxy refused cvm-enroll's ECC primary" test "$(proxy_refusals)" -gt "$refused"
rsa_tok=$(token_json "$img" "$(json_field "$out" token)")
check_eq "cvm-enroll fell back to an RSA primary" rsa "$(json_field "$rsa_tok" tpm2-primary-alg)"
check "RSA token matches systemd's RSA token" cmp_tokens "$rsa_tok" "$(token_json "$tmp/sd-rsa.img" 0)"
check "tpm2-tools unseal under systemd's RSA template" tools_unseal "$rsa_tok" rsa 7
check "base64(secret) opens the RSA token's keyslot" tools_secret_opens "$img" "$(json_field "$out" keyslot)"
check "check passes on the RSA token (TPM with ECC: RSA still chosen)" enroll check --device="$img"
sd_enroll "$img" 7 "swtpm:host=127.0.0.1,port=$proxy_port" || true
check "systemd-cryptenroll: RSA PCR 7 token already enrolled" contains "$(cat "$tmp/sd.log")" "already enrolled"

check_done
