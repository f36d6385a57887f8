#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# `cvm-enroll firstboot` (what cvm-enroll-firstboot.service runs): on an
# image as CVM images ship (slot 0 = the image key, also in a legacy
# cloud-init key file), one process converts nothing, enrolls a TPM2
# token, proves it, wipes slot 0 and the key file, then writes the stamp.
# A rerun is a no-op that changes nothing. When a step fails (no key
# opens the volume) nothing is written: not the header, not the stamp.
# Slots, tokens and the unlock are read back with cryptsetup and
# systemd's token JSON, not with cvm-enroll.
# The line cloud-init's module (dist/cloud-init/cc_cvm_firstboot.py,
# describe_enroll) logs from `firstboot --json=short` says what happened:
# a key sealed here, an offline-sealed (cvm-tpm2-import) token converted,
# or nothing left to do. The module's function runs on cvm-enroll's real
# output, taken from the module file alone (cloud-init is not needed for
# it, and not installed on the host).
set -eu -o pipefail
. "$(dirname "$0")/../lib/common.sh"
. "$CVM_SRCDIR/tests/lib/swtpm.sh"
. "$CVM_SRCDIR/tests/lib/luks.sh"

require_cmd swtpm cryptsetup tpm2_createprimary tpm2_readpublic tpm2_flushcontext tpm2_pcrread
tmp=$(test_tmpdir)
at_exit rm -rf "$tmp"
swtpm_start_tcp "$tmp/tpm"

img=$tmp/disk.img
key=$tmp/image.key
keydata=$tmp/cc_growpart_keydata
stamp=$tmp/state/enrolled
mkdir -p "$tmp/state"
luks_passfile "$key"
luks_image "$img" "$key"
(umask 077 && printf '{"key": "%s", "slot": 0}\n' "$(base64 -w0 "$key")" >"$keydata")

rc=0
enroll firstboot --device="$img" --pcrs=7 --unlock-keydata="$keydata" --keydata="$keydata" \
        --stamp="$stamp" >"$tmp/err" 2>&1 || rc=$?
cat "$tmp/err"
check_eq "firstboot exits 0" 0 "$rc"
check_eq "slot 0 (the image key) wiped, one new slot left" 1 "$(luks_slots "$img")"
check_eq "one token left" 0 "$(luks_tokens "$img")"
check_eq "it is a systemd-tpm2 token for slot 1" "systemd-tpm2 1" \
        "$(cryptsetup token export --token-id 0 "$img" | py -c 'import json, sys; t = json.load(sys.stdin); print(t["type"], " ".join(t["keyslots"]))')"
check_fails "the image key opens nothing any more" luks_opens "$img" any "$key"
check "the legacy key file is gone" test ! -e "$keydata"
check "the stamp was written" test -f "$stamp"
# (stdout and stderr interleave in no fixed order: only that each ran)
for line in "No cvm-tpm2-import token" "Enrolled TPM2 token 0 (keyslot 1" "Wiped temporary keyslot 0"; do
        check "each step logged: $line" contains "$(cat "$tmp/err")" "$line"
done

echo "# rerun: already enrolled, nothing to wipe, nothing written"
before=$(luks_state "$img")
rm -f "$stamp"
rc=0
enroll firstboot --device="$img" --pcrs=7 --keydata="$keydata" --stamp="$stamp" >/dev/null 2>&1 || rc=$?
check_eq "rerun exits 0" 0 "$rc"
check_eq "rerun leaves the header as it was" "$before" "$(luks_state "$img")"
check "rerun writes the stamp again" test -f "$stamp"

echo "# a step fails: nothing written, no stamp"
img2=$tmp/disk2.img
luks_image "$img2" "$key"
luks_passfile "$tmp/wrong.key"
(umask 077 && printf '{"key": "%s", "slot": 0}\n' "$(base64 -w0 "$tmp/wrong.key")" >"$keydata")
before=$(luks_state "$img2")
rm -f "$stamp"
rc=0
enroll firstboot --device="$img2" --unlock-keydata="$keydata" --keydata="$keydata" --stamp="$stamp" \
        >/dev/null 2>&1 || rc=$?
check_eq "firstboot with a key that opens nothing exits 1" 1 "$rc"
check_eq "the header is unchanged" "$before" "$(luks_state "$img2")"
check "the key file is kept" test -f "$keydata"
check "no stamp" test ! -e "$stamp"

rc=0
enroll tpm2 --device="$img" --stamp="$stamp" >/dev/null 2>&1 || rc=$?
check_eq "--stamp= with another command is a usage error" 1 "$rc"

# module_says FILE: the line describe_enroll() makes of the firstboot
# --json=short output in FILE.
module_says() {
        py - "$CVM_SRCDIR/dist/cloud-init/cc_cvm_firstboot.py" "$1" <<'PY'
import ast, json, sys
tree = ast.parse(open(sys.argv[1]).read(), sys.argv[1])
fn = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "describe_enroll"]
ns = {"json": json}
exec(compile(ast.Module(body=fn, type_ignores=[]), sys.argv[1], "exec"), ns)
print(ns["describe_enroll"](open(sys.argv[2]).read()))
PY
}

echo "# the module's line: a key sealed to this TPM"
img3=$tmp/disk3.img
luks_image "$img3" "$key"
(umask 077 && printf '{"key": "%s", "slot": 0}\n' "$(base64 -w0 "$key")" >"$keydata")
enroll firstboot --device="$img3" --pcrs=7 --unlock-keydata="$keydata" --keydata="$keydata" --json=short >"$tmp/fb3.json" 2>/dev/null
cat "$tmp/fb3.json"
check_eq "the module says it sealed a key and wiped" \
        "root LUKS2 volume: key sealed to this TPM, temporary keys wiped" "$(module_says "$tmp/fb3.json")"

echo "# the module's line: an offline-sealed image's import token converted"
export TPM2TOOLS_TCTI=$SWTPM_TCTI
tpm2_createprimary -Q -C o -g sha256 -G ecc256:null:aes128cfb \
        -a 'restricted|decrypt|fixedtpm|fixedparent|sensitivedataorigin|userwithauth' -c "$tmp/srk.ctx"
tpm2_readpublic -Q -c "$tmp/srk.ctx" -o "$tmp/srk.pub"
tpm2_flushcontext -t
tpm2_pcrread sha256:7 >"$tmp/pcrs.txt"
img4=$tmp/disk4.img
luks_image "$img4" "$key"
"$CVM_ENROLL" -q --tpm2-device=swtpm:host=127.0.0.1,port=1 seal-offline --device="$img4" --unlock-key-file="$key" \
        --srk-pub="$tmp/srk.pub" --pcrs=7 --pcr-values="$tmp/pcrs.txt" >/dev/null
check_eq "seal-offline made token 0 a cvm-tpm2-import token" cvm-tpm2-import \
        "$(cryptsetup token export --token-id 0 "$img4" | py -c 'import json, sys; print(json.load(sys.stdin)["type"])')"
(umask 077 && printf '{"key": "%s", "slot": 0}\n' "$(base64 -w0 "$key")" >"$keydata")
enroll firstboot --device="$img4" --pcrs=7 --keydata="$keydata" --json=short >"$tmp/fb4.json" 2>/dev/null
cat "$tmp/fb4.json"
check_eq "token 0 is a systemd-tpm2 token now" systemd-tpm2 \
        "$(cryptsetup token export --token-id 0 "$img4" | py -c 'import json, sys; print(json.load(sys.stdin)["type"])')"
check_eq "the module says it converted the import token, not that it sealed a key" \
        "root LUKS2 volume: offline-sealed key converted for this TPM (cvm-tpm2-import token 0), temporary keys wiped" \
        "$(module_says "$tmp/fb4.json")"
enroll firstboot --device="$img4" --pcrs=7 --keydata="$keydata" --json=short >"$tmp/fb5.json" 2>/dev/null
check_eq "a rerun: the module says there was nothing left to do" \
        "root LUKS2 volume: already had a key sealed to this TPM (token 0), no temporary keys left to wipe" \
        "$(module_says "$tmp/fb5.json")"
# A report it cannot read (one step's object cut short): a line that claims
# nothing, and no exception in cloud-init.
head -n 2 "$tmp/fb4.json" >"$tmp/fb-cut.json"
sed -n 3p "$tmp/fb4.json" | cut -c1-20 >>"$tmp/fb-cut.json"
check_eq "a cut report: the module claims nothing" "root LUKS2 volume: cvm-enroll firstboot succeeded" \
        "$(module_says "$tmp/fb-cut.json")"

check_done
