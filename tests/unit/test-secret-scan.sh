#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The secret scanner of the VM tier's secret-hygiene checks must be able to
# fail: a secret planted in each form it claims to find is found, at every
# base64 alignment; files without it give no hit.
set -eu -o pipefail
. "$(dirname "$0")/../lib/common.sh"
. "$CVM_SRCDIR/tests/lib/secret-scan.sh"

tmp=$(mktemp -d)
at_exit rm -rf "$tmp"

head -c 32 /dev/urandom >"$tmp/secret"
hex=$(od -An -v -tx1 "$tmp/secret" | tr -d ' \n')
echo "planted $hex" >"$tmp/secrets"
head -c 1M /dev/urandom >"$tmp/clean"
check "no hit in random data" secret_scan "$tmp/secrets" "$tmp/clean"

plant() { # plant NAME: a copy of the clean file with the secret written by stdin's command in the middle
        { head -c 4096 "$tmp/clean"; cat; tail -c 4096 "$tmp/clean"; } >"$tmp/$1"
}
plant raw <"$tmp/secret"
echo "$hex" | plant hex
echo "$hex" | tr a-f A-F | plant HEX
for shift in 0 1 2; do
        { head -c "$shift" /dev/urandom; cat "$tmp/secret"; head -c 5 /dev/urandom; } | base64 -w0 | plant "b64-$shift"
        { head -c "$shift" /dev/urandom; cat "$tmp/secret"; head -c 5 /dev/urandom; } | base64 -w0 | tr '+/' '-_' \
                | plant "b64url-$shift"
done
# A base64 passphrase in a JSON field (what a systemd-tpm2 slot's passphrase is).
printf '{"key": "%s"}' "$(base64 -w0 "$tmp/secret")" | plant json
# A sparse disk image with the secret 1 GiB in.
truncate -s 1G "$tmp/disk"
dd if="$tmp/secret" of="$tmp/disk" bs=1 seek=$((1024 * 1024 * 1024 - 4096)) conv=notrunc status=none
for f in raw hex HEX b64-0 b64-1 b64-2 b64url-0 b64url-1 b64url-2 json disk; do
        out=$(secret_scan "$tmp/secrets" "$tmp/clean" "$tmp/$f") && rc=0 || rc=$?
        check_eq "planted secret ($f) found: scan fails" 1 "$rc"
        check "hit names the file ($f)" contains "$out" "HIT planted"
done
check_done
