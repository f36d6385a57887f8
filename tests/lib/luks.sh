# SPDX-License-Identifier: LGPL-2.1-or-later
# LUKS2 image-file fixtures for host tests of cvm-enroll. Source after
# common.sh. Nothing here activates dm-crypt (the host has no
# device-mapper): keys are proven with `cryptsetup open --test-passphrase`.
#
#   luks_image IMG PASSFILE [ARGS]   new LUKS2 image, slot 0 = PASSFILE, fast
#                                    PBKDF (pbkdf2, 1000 iterations); extra
#                                    ARGS go to luksFormat; size
#                                    $LUKS_IMAGE_SIZE (default 20M)
#   luks_passfile FILE [TEXT]        write a passphrase file (mode 0600)
#   luks_opens IMG SLOT [KEYFILE]    does the key (KEYFILE or stdin) open SLOT
#                                    (any: some slot)?
#   luks_slots IMG                   active keyslots, space separated
#   luks_tokens IMG                  token ids, space separated
#   luks_state IMG                   sha256 of the image + luksDump: equal
#                                    states mean nothing was written
#   py ARGS                          python3
#   json_field JSON KEY              a top-level field of a JSON object
#                                    (python repr for non-strings: True, 3)

require_cmd cryptsetup python3 sha256sum

# Debian's interpreter when present: a version-manager shim first on PATH
# (pyenv) costs half a second per call, and these tests call it often.
CVM_PYTHON=${CVM_PYTHON:-$(command -v /usr/bin/python3 || command -v python3)}
py() {
        "$CVM_PYTHON" "$@"
}

luks_passfile() {
        local f=$1 text=${2:-}
        [ -n "$text" ] || text=$(head -c 24 /dev/urandom | base64)
        (umask 077 && printf '%s' "$text" >"$f")
}

luks_image() {
        local img=$1 pass=$2
        shift 2
        rm -f "$img"
        truncate -s "${LUKS_IMAGE_SIZE:-20M}" "$img"
        cryptsetup luksFormat -q --type luks2 --pbkdf pbkdf2 --pbkdf-force-iterations 1000 \
                "$@" "$img" "$pass" || die "luksFormat failed"
}

luks_opens() {
        local img=$1 slot=$2 key=${3:--} slotarg=()
        [ "$slot" = any ] || slotarg=(--key-slot "$slot")
        cryptsetup open --test-passphrase "${slotarg[@]}" --key-file "$key" "$img" 2>/dev/null
}

luks_slots() {
        cryptsetup luksDump --dump-json-metadata "$1" |
                py -c 'import json, sys; print(" ".join(sorted(json.load(sys.stdin)["keyslots"], key=int)))'
}

luks_tokens() {
        cryptsetup luksDump --dump-json-metadata "$1" |
                py -c 'import json, sys; print(" ".join(sorted(json.load(sys.stdin)["tokens"], key=int)))'
}

luks_state() {
        sha256sum <"$1"
        cryptsetup luksDump "$1"
}

json_field() {
        py -c 'import json, sys; v = json.loads(sys.argv[1])[sys.argv[2]]; print(v)' "$1" "$2"
}
