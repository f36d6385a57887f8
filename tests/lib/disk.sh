# SPDX-License-Identifier: LGPL-2.1-or-later
# Disk-image fixtures for host tests (cvm-growroot), on a machine other
# people use at the same time. Source after common.sh. Only devices this test attached are
# ever detached: each is released only while it is still backed by our
# image, never with `losetup -D`, never by number alone.
#
#   loop_attach IMG [LOSETUP_ARGS...]  attach IMG to a free loop device
#                                      (sets LOOP), add its partitions
#                                      (partx -a; the host kernel scans no
#                                      partition tables itself), release it
#                                      at exit
#   loop_release LOOP IMG              partx -d + losetup -d, if LOOP is
#                                      still IMG's
#   mount_at DEV MNT [MOUNT_ARGS...]   mount; at exit thaw and unmount
#   mnt_release MNT                    thaw and unmount MNT if mounted
#   sectors DEV                        size of DEV in its logical sectors
#   image_sum IMG                      a sha256 that is equal for two images
#                                      exactly when their bytes are: over
#                                      IMG's size and each non-zero 64 KiB
#                                      block with its offset, after `sync`
#                                      (which flushes every block device's
#                                      cache through the loop driver into
#                                      IMG). Holes (SEEK_HOLE) and zero
#                                      blocks are skipped, so a sparse 1 GiB
#                                      image takes a fraction of a second,
#                                      and the sum does not depend on how
#                                      the file's extents are laid out (an
#                                      unwritten extent counts as data once
#                                      its pages are cached, e.g. after the
#                                      tool read them through the loop).
#   fs_freeze MNT / fs_thaw MNT        freeze / thaw the filesystem at MNT
#   frozen_run MNT IMG CMD...          run CMD with the filesystem at MNT
#                                      frozen and image_sum IMG before and
#                                      after it. A frozen filesystem writes
#                                      nothing, so a changed image was
#                                      changed by CMD. Sets RUN_RC, RUN_OUT
#                                      (stdout), RUN_ERR (stderr),
#                                      RUN_BEFORE, RUN_AFTER. A CMD that
#                                      tries to resize or write the
#                                      filesystem blocks in the kernel,
#                                      unkillably, until the thaw: after 20 s
#                                      (a no-op run takes milliseconds) the
#                                      filesystem is thawed to let it finish
#                                      and RUN_RC is 124.

require_cmd losetup partx blockdev fsfreeze mountpoint timeout python3

# Debian's interpreter when present: a version-manager shim first on PATH
# (pyenv) costs half a second per call.
CVM_PYTHON=${CVM_PYTHON:-$(command -v /usr/bin/python3 || command -v python3)}

loop_release() {
        local loop=$1 img=$2 back
        back=$(losetup -n -O BACK-FILE "$loop" 2>/dev/null) || return 0
        [ "$back" = "$(realpath "$img")" ] || return 0
        partx -d "$loop" 2>/dev/null || true
        losetup -d "$loop"
}

loop_attach() {
        local img=$1
        shift
        LOOP=$(losetup -f --show "$@" "$img") || die "cannot attach '$img' to a loop device"
        at_exit "loop_release '$LOOP' '$img'"
        # An image without a table yet has nothing to add; partx says so.
        partx -a "$LOOP" 2>/dev/null || true
}

mnt_release() {
        mountpoint -q "$1" || return 0
        fsfreeze -u "$1" 2>/dev/null || true
        umount "$1"
}

mount_at() {
        local dev=$1 mnt=$2
        shift 2
        mkdir -p "$mnt"
        mount "$@" "$dev" "$mnt" || die "cannot mount '$dev' on '$mnt'"
        at_exit "mnt_release '$mnt'"
}

sectors() {
        echo $(($(blockdev --getsize64 "$1") / $(blockdev --getss "$1")))
}

image_sum() {
        sync
        "$CVM_PYTHON" -c '
import errno, hashlib, os, sys
BLOCK = 65536
ZERO = bytes(BLOCK)
fd = os.open(sys.argv[1], os.O_RDONLY)
end = os.lseek(fd, 0, os.SEEK_END)
h = hashlib.sha256(b"size %d;" % end)
off = 0
while off < end:
    try:
        data = os.lseek(fd, off, os.SEEK_DATA)
    except OSError as e:
        if e.errno != errno.ENXIO:
            raise
        break
    hole = os.lseek(fd, data, os.SEEK_HOLE)
    pos = data - data % BLOCK
    while pos < hole:
        block = os.pread(fd, BLOCK, pos)
        if not block:
            break
        if block != ZERO[:len(block)]:
            h.update(b"%d;" % pos)
            h.update(block)
        pos += BLOCK
    off = max(pos, hole)
print(h.hexdigest())' "$1"
}

fs_freeze() {
        sync
        fsfreeze -f "$1" || die "cannot freeze '$1'"
}

fs_thaw() {
        fsfreeze -u "$1" || die "cannot thaw '$1'"
}

frozen_run() {
        local mnt=$1 img=$2 out err pid i
        shift 2
        out=$(mktemp)
        err=$(mktemp)
        fs_freeze "$mnt"
        RUN_BEFORE=$(image_sum "$img")
        "$@" >"$out" 2>"$err" &
        pid=$!
        for ((i = 0; i < 1000; i++)); do
                kill -0 "$pid" 2>/dev/null || break
                sleep 0.02
        done
        if kill -0 "$pid" 2>/dev/null; then
                fs_thaw "$mnt"
                wait "$pid" || true
                RUN_RC=124
                RUN_AFTER=$(image_sum "$img")
        else
                RUN_RC=0
                wait "$pid" || RUN_RC=$?
                RUN_AFTER=$(image_sum "$img")
                fs_thaw "$mnt"
        fi
        RUN_OUT=$(cat "$out")
        RUN_ERR=$(cat "$err")
        rm -f "$out" "$err"
}

ptable() {
        "$CVM_PYTHON" "$CVM_SRCDIR/tests/lib/ptable-inspect.py" "$1" "$2"
}

declare -A PT=()
ptable_load() {
        local k v
        PT=()
        while IFS== read -r k v; do
                PT[$k]=$v
        done < <(ptable "$1" "$2")
}

json_get() {
        "$CVM_PYTHON" -c '
import json, sys
v = json.loads(sys.argv[1])
for k in sys.argv[2].split("."):
    v = v.get(k) if isinstance(v, dict) else None
print(json.dumps(v))' "$1" "$2"
}
