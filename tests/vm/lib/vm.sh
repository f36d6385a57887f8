# SPDX-License-Identifier: LGPL-2.1-or-later
# The vm tier's harness: qemu (TCG) + one swtpm per boot. Source it after
# tests/lib/common.sh and tests/lib/swtpm.sh; don't run it.
#
# Two kinds of boot share one machinery:
#   * busybox scenario (fast tier): Debian's kernel + a cached busybox
#     initramfs (lib/guest-init.sh as /init, the project's binaries,
#     cryptsetup & co. with their libraries, the modules the tier needs) + a
#     small per-boot cpio holding the test's /scenario.sh. The guest prints
#     "N passed, M failed" and powers off.
#   * a given kernel + initrd + command line (e.g. the debootstrapped Debian
#     guest of tests/vm/debian/): no scenario, the caller says what "done" is.
# Either can be booted directly (SeaBIOS) or, with --uefi-uki, as a signed
# UKI through OVMF with Secure Boot enforced (measured boot).
#
# API
#   vm_setup [NAME]         Check prerequisites (skip if missing), fetch and
#                           cache Debian's kernel, build or reuse the cached
#                           base initramfs. Sets VM_NAME (default: the test
#                           script's name), VM_TMP (scratch dir, removed at
#                           exit unless CVM_KEEP_TMP=1), VM_KERNEL, VM_KVER,
#                           VM_KROOT (the extracted linux-image package, with
#                           modules.dep), VM_BASE_INITRD. Call once per test.
#   vm_start [OPTION...]    Boot one VM in the background (one at a time).
#                           Sets VM_LOG (serial console, kept in
#                           $CVM_BUILDDIR/vm-logs/NAME-N.log, N = boot number
#                           in this test), VM_QMP_SOCK, with --net
#                           VM_SSH_PORT and with --uefi-uki VM_UKI (the UKI).
#   vm_wait_log ERE [SECS]  Wait until the serial log matches ERE (lines
#                           without the trailing \r). Fails if the VM ended
#                           or SECS (default: the boot's timeout) passed.
#   vm_qmp JSON             Send one QMP command to the running VM, print its
#                           "return" as JSON; fails on a QMP error. E.g.
#                           vm_qmp '{"execute":"block_resize","arguments":
#                                   {"device":"disk0","size":1073741824}}'
#   vm_wait                 Wait until the VM powers off (or its timeout),
#                           stop its swtpm, then succeed only if the log
#                           holds the --done match (default: a guest line
#                           "N passed, 0 failed" with N > 0).
#   vm_kill                 Pull the plug: stop the VM and its swtpm now.
#   vm_run [OPTION...]      vm_start + vm_wait.
#   vm_build_uki OUT [--scenario FILE] [--append ARGS]
#                           Build (not boot) the signed UKI such a boot
#                           would use, as OUT; boot it with --uki OUT.
#   vm_log_values KEY [LOG] Print VALUE of each "KEY VALUE" line of a serial
#                           log (default: the last boot's), to pass results
#                           from guest to host (e.g. guest: echo "cvm-pcr7 $v").
#   vm_result [LOG]         Print the guest's last "N passed, M failed" line.
# Call vm_run and vm_wait as plain commands, not in `if`/`||`/`check`: bash
# suspends set -e inside those, and a failed boot should end the test (status
# 1, after the EXIT trap stopped everything). Next to each serial log,
# NAME-N.qemu.log holds qemu's command line and its stderr.
#
# Options of vm_start/vm_run:
#   --scenario FILE         busybox mode: run FILE as /scenario.sh (an ash
#                           script; lib/guest-lib.sh documents its helpers)
#   --file SRC[:DEST]       add SRC to the scenario's cpio as DEST
#                           (default /files/BASENAME)
#   --env VAR=VALUE         set VAR for the scenario (via /scenario.env)
#   --append ARGS           add ARGS to the kernel command line; the scenario
#                           reads them with cmdline_arg, e.g. cvm.abort_at=N
#   --kernel FILE --initrd FILE --cmdline STRING
#                           boot this instead of the busybox initramfs (the
#                           command line is used as given: include
#                           console=ttyS0 to get a serial log)
#   --disk FILE             a virtio-blk disk (raw; qcow2 if FILE ends in
#                           .qcow2). In order: /dev/vda, /dev/vdb, ... in the
#                           guest and QMP devices disk0, disk1, ...
#   --disk-4k FILE          the same with 4096-byte logical/physical blocks
#   --tpm-state DIR         swtpm state dir (default $VM_TMP/tpm: all boots
#                           of a test see one TPM, as reboots of one machine
#                           do; another DIR is another machine's TPM). For an
#                           EK certificate run swtpm_setup_ek DIR first.
#   --no-tpm                no TPM at all
#   --uefi-uki              OVMF + Secure Boot (snakeoil keys): the kernel,
#                           initrd and command line become a UKI, signed
#                           and booted as \EFI\BOOT\BOOTX64.EFI from an ESP on
#                           AHCI (invisible to the busybox guest, which loads
#                           no AHCI driver; the test disks stay vda, ...)
#   --unsigned              with --uefi-uki: don't sign (Secure Boot must
#                           then refuse to boot it)
#   --uki FILE              OVMF + Secure Boot booting this UKI as it is
#                           (one vm_build_uki made); the scenario, kernel
#                           and command line are inside it
#   --net                   qemu user networking, guest port 22 forwarded to
#                           127.0.0.1:$VM_SSH_PORT (a free port)
#   --done ERE              success criterion instead of the result line,
#                           e.g. 'cvm-guest: power cut'
#   --timeout SECS          kill the VM after SECS (default $CVM_VM_TIMEOUT
#                           or 300)
#   --mem MIB               guest memory (default 1024)
#
# Example (mode b, a full Debian guest):
#   vm_start --kernel "$k" --initrd "$i" --cmdline "root=/dev/vda1 console=ttyS0" \
#           --disk "$img" --net --done 'Reached target.*Multi-User'
#   vm_wait_log 'login:' && ssh -p "$VM_SSH_PORT" root@127.0.0.1 ... poweroff
#   vm_wait
#
# Processes: the harness stops exactly what it started, by recorded pid:
# qemu (run under timeout(1), which enforces --timeout) and its swtpm, after
# each boot, on failure, on timeout and from the EXIT trap (Ctrl-C, meson's
# SIGTERM).

# qemu options are comma lists; the VM_* variables are set for the caller.
# shellcheck disable=SC2054,SC2034

VM_CACHE=$CVM_BUILDDIR/vm-cache
VM_LOGDIR=$CVM_BUILDDIR/vm-logs
VM_LIBDIR=$CVM_SRCDIR/tests/vm/lib
VM_OVMF_CODE=/usr/share/OVMF/OVMF_CODE_4M.snakeoil.fd
VM_OVMF_VARS=/usr/share/OVMF/OVMF_VARS_4M.snakeoil.fd
VM_SB_KEY=/usr/share/ovmf/PkKek-1-snakeoil.key
VM_SB_CERT=/usr/share/ovmf/PkKek-1-snakeoil.pem
VM_UKI_STUB=/usr/lib/systemd/boot/efi/linuxx64.efi.stub

# Modules the busybox guest loads at boot (dependencies are resolved on the
# host). dm-crypt with aes-xts-plain64 needs xts (aes and sha256 are built
# in); algif_* serve libcryptsetup's kernel crypto backend.
VM_MODULES="virtio_pci virtio_blk dm-mod dm-crypt loop ext4 xts aesni-intel sha256-ssse3
algif_skcipher algif_hash"
# Shipped too, but loaded only when a scenario first mounts such a file
# system (the kernel runs busybox's modprobe with the image's modules.dep and
# modules.alias): xfs and btrfs cost ~3 s of TCG time per boot, efivarfs
# fails to load without EFI.
VM_MODULES_ON_DEMAND="xfs btrfs efivarfs"
# Host tools copied into the busybox guest when present; cryptsetup is required.
# Tests can add more with VM_EXTRA_TOOLS="..." before vm_setup.
VM_TOOLS="cryptsetup blkid sfdisk partx e2fsck resize2fs dumpe2fs xfs_growfs xfs_repair btrfs sgdisk"
# libtss2-tctildr dlopen()s these; ldd cannot see them.
VM_DLOPEN_LIBS="libtss2-tcti-device.so.0"
VM_BASE_CMDLINE="console=ttyS0 panic=-1 rdinit=/init quiet"

# --- small utilities -------------------------------------------------------

_vm_now() {
        echo "${EPOCHREALTIME/[.,]/}"
}

# _vm_elapsed START: seconds since START (a _vm_now value), one decimal.
_vm_elapsed() {
        local us=$(($(_vm_now) - $1))
        printf '%d.%d' $((us / 1000000)) $((us % 1000000 / 100000))
}

# _vm_forget_exit_action ACTION: drop a registered at_exit action once we
# have done it ourselves, so it cannot hit a reused pid later.
_vm_forget_exit_action() {
        local a kept=()
        for a in "${_cvm_exit_actions[@]}"; do
                [ "$a" = "$*" ] || kept+=("$a")
        done
        _cvm_exit_actions=("${kept[@]}")
}

# _vm_locked CMD...: run CMD holding the cache lock, so concurrent tests (or
# build dirs sharing a cache) never see a half-written kernel or initramfs.
_vm_locked() {
        local fd rc=0
        exec {fd}>"$VM_CACHE/.lock"
        flock "$fd"
        "$@" || rc=$?
        exec {fd}>&-
        return "$rc"
}

# --- kernel ----------------------------------------------------------------

# Resolve linux-image-amd64 to the real package and version; prints "PKG VER".
_vm_kernel_pkg() {
        local pkg ver
        pkg=$(apt-cache depends linux-image-amd64 2>/dev/null |
                awk '$1 == "Depends:" && $2 ~ /^linux-image-/ { print $2; exit }')
        [ -n "$pkg" ] || return 1
        ver=$(apt-cache show --no-all-versions "$pkg" 2>/dev/null | awk '$1 == "Version:" { print $2; exit }')
        [ -n "$ver" ] || return 1
        echo "$pkg $ver"
}

# Download and unpack the kernel package into $VM_CACHE/kernel/PKG_VER once.
_vm_fetch_kernel() {
        local pkgver dir tmp
        if pkgver=$(_vm_kernel_pkg); then
                dir=$VM_CACHE/kernel/${pkgver/ /_}
        else
                # No apt lists (offline): fall back to what an earlier run cached.
                dir=$(ls -d "$VM_CACHE"/kernel/linux-image-* 2>/dev/null | sort -V | tail -1)
                [ -n "$dir" ] || skip "cannot resolve linux-image-amd64 with apt-cache and no cached kernel"
        fi
        if [ ! -d "$dir" ]; then
                echo "vm: fetching ${pkgver% *} ${pkgver#* } into $dir"
                mkdir -p "$VM_CACHE/kernel"
                tmp=$(mktemp -d "$VM_CACHE/kernel/.fetch.XXXXXX")
                (cd "$tmp" && apt-get download -q "${pkgver% *}=${pkgver#* }") >"$tmp/apt.log" 2>&1 ||
                        { cat "$tmp/apt.log"; rm -rf "$tmp"; skip "apt-get download ${pkgver% *} failed"; }
                dpkg-deb -x "$tmp"/*.deb "$tmp/root"
                # The package ships no modules.dep (its postinst makes it).
                depmod -b "$tmp/root" "$(ls "$tmp/root/lib/modules")"
                mv "$tmp/root" "$dir"
                rm -rf "$tmp"
        fi
        VM_KROOT=$dir
        VM_KVER=$(ls "$dir/lib/modules")
        VM_KERNEL=$dir/boot/vmlinuz-$VM_KVER
        [ -f "$VM_KERNEL" ] || die "no kernel image in $dir"
}

# _vm_cpio DIR: print a newc archive of DIR whose bytes depend only on the
# content (fixed mtimes, no inode numbers): then UKIs built from the same
# inputs are identical, and only what a test changes moves PCR 4 and 11.
_vm_cpio() {
        find "$1" -mindepth 1 -exec touch -h -d @0 {} +
        (cd "$1" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --reproducible --quiet)
}

# --- base initramfs --------------------------------------------------------

# Print the host paths of the shared libraries an ELF file needs.
_vm_elf_libs() {
        ldd "$1" 2>/dev/null | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }'
}

# Print the inputs of the base initramfs, one "KIND PATH" a line. Their
# content hash names the cached image, so any change rebuilds it.
_vm_initrd_inputs() {
        local t p l m
        echo "init $VM_LIBDIR/guest-init.sh"
        echo "guestlib $VM_LIBDIR/guest-lib.sh"
        echo "bin /usr/bin/busybox"
        for t in $VM_TOOLS ${VM_EXTRA_TOOLS:-}; do
                p=$(command -v "$t") && echo "bin $(readlink -f "$p")"
        done
        for p in "$CVM_GROWROOT" "$CVM_ENROLL" "$CVM_AUTHCHECK" "$CVM_TESTTOOL"; do
                [ -x "$p" ] && echo "bin $p"
        done
        for l in $VM_DLOPEN_LIBS; do
                p=/usr/lib/x86_64-linux-gnu/$l
                [ -e "$p" ] && echo "lib $p"
        done
        for m in $VM_MODULES; do
                modprobe -d "$VM_KROOT" -S "$VM_KVER" --show-depends "$m" |
                        awk '$1 == "insmod" { print "ko " $2 }'
        done | awk '!seen[$0]++'
        for m in $VM_MODULES_ON_DEMAND; do
                modprobe -d "$VM_KROOT" -S "$VM_KVER" --show-depends "$m" |
                        awk '$1 == "insmod" { print "ko-on-demand " $2 }'
        done | awk '!seen[$0]++'
}

# _vm_stage_initrd STAGE INPUTS: lay out the guest's root file system.
_vm_stage_initrd() {
        local stage=$1 inputs=$2 kind path l a moddir
        moddir=usr/lib/modules/$VM_KVER
        mkdir -p "$stage"/{usr/bin,usr/sbin,usr/lib/x86_64-linux-gnu,usr/lib64,usr/lib/cvm,etc,proc,sys,dev,run,tmp,mnt,root}
        mkdir -p "$stage/$moddir"
        # Debian 12's merged /usr, so ldd's paths and PT_INTERP resolve as on the host.
        ln -s usr/bin "$stage/bin"
        ln -s usr/sbin "$stage/sbin"
        ln -s usr/lib "$stage/lib"
        ln -s usr/lib64 "$stage/lib64"
        ln -s /proc/self/mounts "$stage/etc/mtab"
        : >"$stage/etc/cvm-modules"
        while read -r kind path; do
                case $kind in
                init) install -m 0755 "$path" "$stage/init" ;;
                guestlib) cp "$path" "$stage/usr/lib/cvm/" ;;
                lib) _vm_stage_elf "$stage" "$path" lib ;;
                bin) _vm_stage_elf "$stage" "$path" bin ;;
                ko | ko-on-demand)
                        l=${path#"$VM_KROOT/lib/modules/$VM_KVER/"}
                        mkdir -p "$stage/$moddir/$(dirname "$l")"
                        cp "$path" "$stage/$moddir/$l"
                        [ "$kind" = ko-on-demand ] || echo "$l" >>"$stage/etc/cvm-modules"
                        ;;
                esac
        done <"$inputs"
        # busybox applets for whatever the host tools did not provide.
        for a in $(/usr/bin/busybox --list-full); do
                [ -e "$stage/$a" ] || [ -L "$stage/$a" ] || ln -s /usr/bin/busybox "$stage/$a"
        done
        # No ld.so.cache means dlopen("libtss2-tcti-device.so.0") fails.
        echo /usr/lib/x86_64-linux-gnu >"$stage/etc/ld.so.conf"
        ldconfig -r "$stage"
        cp "$VM_KROOT/lib/modules/$VM_KVER"/modules.{builtin,builtin.modinfo,order} "$stage/$moddir/"
        depmod -b "$stage" "$VM_KVER"
}

# _vm_stage_elf STAGE PATH bin|lib: copy an ELF file and its libraries.
_vm_stage_elf() {
        local stage=$1 path=$2 kind=$3 l dest
        if [ "$kind" = lib ]; then
                cp -L "$path" "$stage/usr/lib/x86_64-linux-gnu/$(basename "$path")"
        else
                case $path in
                */sbin/*) dest=usr/sbin ;;
                *) dest=usr/bin ;;
                esac
                cp -L "$path" "$stage/$dest/"
        fi
        for l in $(_vm_elf_libs "$path"); do
                case $l in
                */ld-linux-*) dest=$stage/usr/lib64/$(basename "$l") ;;
                *) dest=$stage/usr/lib/x86_64-linux-gnu/$(basename "$l") ;;
                esac
                [ -e "$dest" ] || cp -L "$l" "$dest"
        done
}

# Build $VM_CACHE/initrd-base-HASH.img unless it exists; sets VM_BASE_INITRD.
_vm_build_base_initrd() {
        local inputs hash stage img
        inputs=$(mktemp "$VM_CACHE/.inputs.XXXXXX")
        _vm_initrd_inputs >"$inputs"
        hash=$({
                cat "$inputs"
                cut -d' ' -f2- "$inputs" | xargs -d '\n' sha256sum
        } | sha256sum | cut -c1-16)
        img=$VM_CACHE/initrd-base-$hash.img
        if [ ! -f "$img" ]; then
                echo "vm: building base initramfs $img"
                stage=$(mktemp -d "$VM_CACHE/.stage.XXXXXX")
                _vm_stage_initrd "$stage" "$inputs"
                # zstd: 11 instead of 34 MB; qemu's loading of the uncompressed
                # image under TCG costs more than the kernel's decompressing
                # (measured), and the UKI stays small for OVMF to hash.
                _vm_cpio "$stage" | zstd -q -T0 -10 >"$img.tmp"
                # The scenario cpio appended later must start 4-byte aligned.
                truncate -s %512 "$img.tmp"
                mv "$img.tmp" "$img"
                rm -rf "$stage"
                # Keep the three newest images; older ones belong to stale inputs.
                ls -t "$VM_CACHE"/initrd-base-*.img | tail -n +4 | xargs -r rm -f
        fi
        rm -f "$inputs"
        VM_BASE_INITRD=$img
}

_vm_prepare() {
        _vm_fetch_kernel
        _vm_build_base_initrd
}

vm_setup() {
        VM_NAME=${1:-$(basename "$0" .sh)}
        require_root
        require_cmd qemu-system-x86_64 swtpm cpio zstd dpkg-deb apt-get apt-cache depmod modprobe \
                ldconfig flock timeout cryptsetup
        if [ ! -x /usr/bin/busybox ] || ldd /usr/bin/busybox >/dev/null 2>&1; then
                skip "a static /usr/bin/busybox is needed (busybox-static)"
        fi
        mkdir -p "$VM_CACHE" "$VM_LOGDIR"
        VM_TMP=$(test_tmpdir "vm-$VM_NAME")
        [ "${CVM_KEEP_TMP:-0}" = 1 ] || at_exit rm -rf "$(printf %q "$VM_TMP")"
        # Unix socket paths must stay below 108 bytes, build dirs may be deep.
        VM_RUNDIR=$(mktemp -d "${TMPDIR:-/tmp}/cvm-vm-$VM_NAME.XXXXXX")
        at_exit rm -rf "$(printf %q "$VM_RUNDIR")"
        at_exit _vm_cleanup
        rm -f "$VM_LOGDIR/$VM_NAME"-[0-9]*.log "$VM_LOGDIR/$VM_NAME"-[0-9]*.qemu.log
        VM_BOOTS=0
        VM_PID=
        VM_SWTPM_PID=
        _vm_locked _vm_prepare
}

# --- one boot ---------------------------------------------------------------

# _vm_scenario_initrd DIR SCENARIO: the base image + a cpio with the
# scenario, its environment and its files; prints the image's path.
_vm_scenario_initrd() {
        local dir=$1 scenario=$2 stage=$1/scenario-root spec src dest kv
        mkdir -p "$stage"
        install -m 0755 "$scenario" "$stage/scenario.sh"
        : >"$stage/scenario.env"
        for kv in "${_vm_env[@]}"; do
                printf 'export %s=%q\n' "${kv%%=*}" "${kv#*=}" >>"$stage/scenario.env"
        done
        for spec in "${_vm_files[@]}"; do
                src=${spec%%:*}
                dest=${spec#*:}
                [ "$dest" != "$spec" ] || dest=/files/$(basename "$src")
                mkdir -p "$stage/$(dirname "$dest")"
                cp -a "$src" "$stage/$dest"
        done
        _vm_cpio "$stage" >"$dir/scenario.cpio"
        cat "$VM_BASE_INITRD" "$dir/scenario.cpio" >"$dir/initrd.img"
        echo "$dir/initrd.img"
}

# _vm_section_layout STUB FILE...: print one VMA per FILE, each section placed
# after the previous one at the stub's section alignment (Debian 12 has no
# ukify; this is the objcopy recipe systemd documents).
_vm_section_layout() {
        local stub=$1 align size vma end f
        shift
        align=$((0x$(objdump -p "$stub" | awk '$1 == "SectionAlignment" { print $2 }')))
        # The last section's size and VMA (mawk has no strtonum: bash adds).
        read -r size vma < <(objdump -h "$stub" | awk '$1 ~ /^[0-9]+$/ { s = $3; v = $4 } END { print s, v }')
        end=$((0x$size + 0x$vma))
        for f in "$@"; do
                end=$(((end + align - 1) / align * align))
                printf '0x%x\n' "$end"
                end=$((end + $(stat -c %s "$f")))
        done
}

# objcopy stamps the PE header with the current time (ignoring
# SOURCE_DATE_EPOCH), and the header is part of the Authenticode hash OVMF
# measures into PCR 4: zero the stamp, as the stub itself has it, so equal
# inputs give equal PCRs. Zero the checksum computed over it too, for an
# unsigned UKI (sbsign recomputes it; firmware does not check it).
_vm_pe_clear_timestamp() {
        local pe
        pe=$(od -An -tu4 -j60 -N4 "$1" | tr -d ' ')
        _vm_zero4 "$1" $((pe + 8))          # COFF header: TimeDateStamp
        _vm_zero4 "$1" $((pe + 24 + 64))    # optional header: CheckSum
}

_vm_zero4() {
        printf '\0\0\0\0' | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}

# _vm_build_uki DIR KERNEL INITRD CMDLINE SIGN: make DIR/esp.img holding the
# (signed) UKI as \EFI\BOOT\BOOTX64.EFI.
_vm_build_uki() {
        local dir=$1 kernel=$2 initrd=$3 cmdline=$4 sign=$5 vmas uki=$1/uki.efi
        require_cmd objcopy objdump sbsign openssl mkfs.vfat mcopy mmd
        printf 'NAME="cvm-firstboot vm test"\nID=cvmtest\nVERSION_ID=1\n' >"$dir/os-release"
        printf '%s' "$cmdline" >"$dir/cmdline"
        if [ -n "$initrd" ]; then
                cp "$initrd" "$dir/uki-initrd"
        else
                : >"$dir/uki-initrd"
        fi
        mapfile -t vmas < <(_vm_section_layout "$VM_UKI_STUB" "$dir/os-release" "$dir/cmdline" "$kernel" "$dir/uki-initrd")
        objcopy \
                --add-section .osrel="$dir/os-release" --change-section-vma .osrel="${vmas[0]}" \
                --add-section .cmdline="$dir/cmdline" --change-section-vma .cmdline="${vmas[1]}" \
                --add-section .linux="$kernel" --change-section-vma .linux="${vmas[2]}" \
                --add-section .initrd="$dir/uki-initrd" --change-section-vma .initrd="${vmas[3]}" \
                "$VM_UKI_STUB" "$uki.unsigned" || die "objcopy could not build the UKI"
        _vm_pe_clear_timestamp "$uki.unsigned"
        if [ "$sign" = 1 ]; then
                # sbsign would prompt for the key's passphrase on the tty.
                (umask 077 && openssl pkey -in "$VM_SB_KEY" -passin pass:snakeoil -out "$dir/db.key")
                sbsign --key "$dir/db.key" --cert "$VM_SB_CERT" --output "$uki" "$uki.unsigned" >/dev/null 2>&1 ||
                        die "sbsign failed"
                rm -f "$dir/db.key" "$uki.unsigned"
        else
                mv "$uki.unsigned" "$uki"
        fi
        _vm_make_esp "$dir" "$uki"
        rm -f "$dir/uki-initrd"
}

# _vm_make_esp DIR UKI: DIR/esp.img with UKI as \EFI\BOOT\BOOTX64.EFI.
_vm_make_esp() {
        local kb
        kb=$(($(stat -c %s "$2") / 1024 + 4096))
        rm -f "$1/esp.img"
        mkfs.vfat -C -n CVMESP "$1/esp.img" "$kb" >/dev/null
        MTOOLS_SKIP_CHECK=1 mmd -i "$1/esp.img" ::EFI ::EFI/BOOT
        MTOOLS_SKIP_CHECK=1 mcopy -i "$1/esp.img" "$2" ::EFI/BOOT/BOOTX64.EFI
}

# vm_build_uki OUT [--append ARGS] [--scenario FILE]: build the signed UKI a
# busybox-scenario boot with these options would boot, as OUT, without
# booting it (for tests that need a UKI before its boot, e.g. to predict
# its PCRs); boot it later with vm_start --uefi-uki --uki OUT.
vm_build_uki() {
        local out=$1 append='' scenario='' dir initrd
        shift
        while [ $# -gt 0 ]; do
                case $1 in
                --append) append="$append $2"; shift ;;
                --scenario) scenario=$2; shift ;;
                *) die "vm_build_uki: unknown option '$1'" ;;
                esac
                shift
        done
        dir=$(mktemp -d "$VM_TMP/uki.XXXXXX")
        _vm_env=()
        _vm_files=()
        initrd=$(_vm_scenario_initrd "$dir" "$scenario")
        _vm_build_uki "$dir" "$VM_KERNEL" "$initrd" "$VM_BASE_CMDLINE$append" 1
        mv "$dir/uki.efi" "$out"
        rm -rf "$dir"
}

# A free loopback TCP port for ssh forwarding (best effort: probed, not held).
_vm_free_port() {
        local port
        for _ in $(seq 1 50); do
                port=$((20000 + RANDOM % 40000))
                (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || { echo "$port"; return 0; }
        done
        die "no free TCP port found"
}

# _vm_start_tpm DIR: swtpm for this boot, reached through a short symlink.
_vm_start_tpm() {
        mkdir -p "$1"
        ln -sfn "$(readlink -f "$1")" "$VM_RUNDIR/tpm$VM_BOOTS"
        swtpm_start_vm "$VM_RUNDIR/tpm$VM_BOOTS"
        VM_SWTPM_PID=$SWTPM_PID
        # We stop it ourselves, after qemu (see _vm_stop).
        _vm_forget_exit_action swtpm_stop "$SWTPM_PID"
}

vm_start() {
        local scenario='' kernel='' initrd='' cmdline='' append='' tpm_state='' tpm=1 uefi=0 sign=1 net=0 uki=''
        local mem=1024 machine=q35 dir disk i=0 blk
        local -a qemu disks=()
        _vm_env=()
        _vm_files=()
        VM_DONE_RE=
        VM_TIMEOUT=${CVM_VM_TIMEOUT:-300}
        VM_SSH_PORT=
        VM_UKI=
        [ -z "$VM_PID" ] || die "vm_start: a VM is still running"
        while [ $# -gt 0 ]; do
                case $1 in
                --scenario) scenario=$2; shift ;;
                --file) _vm_files+=("$2"); shift ;;
                --env) _vm_env+=("$2"); shift ;;
                --append) append="$append $2"; shift ;;
                --kernel) kernel=$2; shift ;;
                --initrd) initrd=$2; shift ;;
                --cmdline) cmdline=$2; shift ;;
                --disk) disks+=("$2:512"); shift ;;
                --disk-4k) disks+=("$2:4096"); shift ;;
                --tpm-state) tpm_state=$2; shift ;;
                --no-tpm) tpm=0 ;;
                --uefi-uki) uefi=1 ;;
                --unsigned) sign=0 ;;
                --uki) uki=$2; uefi=1; shift ;;
                --net) net=1 ;;
                --done) VM_DONE_RE=$2; shift ;;
                --timeout) VM_TIMEOUT=$2; shift ;;
                --mem) mem=$2; shift ;;
                *) die "vm_start: unknown option '$1'" ;;
                esac
                shift
        done

        VM_BOOTS=$((VM_BOOTS + 1))
        dir=$VM_TMP/boot-$VM_BOOTS
        mkdir -p "$dir"
        VM_LOG=$VM_LOGDIR/$VM_NAME-$VM_BOOTS.log
        VM_QEMU_LOG=$VM_LOGDIR/$VM_NAME-$VM_BOOTS.qemu.log
        VM_QMP_SOCK=$VM_RUNDIR/qmp$VM_BOOTS.sock

        if [ -n "$uki" ]; then
                [ -z "$scenario$kernel" ] || die "vm_start: --uki excludes --scenario and --kernel"
        elif [ -n "$scenario" ]; then
                [ -z "$kernel" ] || die "vm_start: --scenario and --kernel exclude each other"
                kernel=$VM_KERNEL
                initrd=$(_vm_scenario_initrd "$dir" "$scenario")
                cmdline=$VM_BASE_CMDLINE
        fi
        [ -n "$kernel$uki" ] || die "vm_start: need --scenario, --kernel or --uki"
        [ -n "$scenario" ] || [ $((${#_vm_env[@]} + ${#_vm_files[@]})) = 0 ] ||
                die "vm_start: --env and --file need --scenario"
        cmdline="$cmdline$append"

        # The Secure Boot build of OVMF needs SMM to protect its variables.
        [ "$uefi" = 1 ] && machine=q35,smm=on
        qemu=(-machine "$machine" -cpu max -m "$mem" -smp 1 -accel tcg -nographic -nodefaults -no-reboot
                -serial "file:$VM_LOG" -monitor none -qmp "unix:$VM_QMP_SOCK,server=on,wait=off")
        if [ "$uefi" = 1 ]; then
                if [ -n "$uki" ]; then
                        cp "$uki" "$dir/uki.efi"
                        _vm_make_esp "$dir" "$dir/uki.efi"
                else
                        _vm_build_uki "$dir" "$kernel" "$initrd" "$cmdline" "$sign"
                fi
                VM_UKI=$dir/uki.efi
                # The per-test copy of the variable store persists across boots like NVRAM.
                [ -f "$VM_TMP/ovmf-vars.fd" ] || cp "$VM_OVMF_VARS" "$VM_TMP/ovmf-vars.fd"
                qemu+=(-global driver=cfi.pflash01,property=secure,value=on
                        -drive "if=pflash,format=raw,unit=0,file=$VM_OVMF_CODE,readonly=on"
                        -drive "if=pflash,format=raw,unit=1,file=$VM_TMP/ovmf-vars.fd"
                        -drive "if=none,id=esp,format=raw,file=$dir/esp.img"
                        -device ide-hd,drive=esp,bus=ide.0,bootindex=0)
        else
                qemu+=(-kernel "$kernel" -append "$cmdline")
                [ -z "$initrd" ] || qemu+=(-initrd "$initrd")
        fi
        for disk in "${disks[@]}"; do
                blk=${disk##*:}
                disk=${disk%:*}
                [ -e "$disk" ] || die "vm_start: no disk image '$disk'"
                qemu+=(-drive "if=none,id=disk$i,file=$disk,format=$([[ $disk == *.qcow2 ]] && echo qcow2 || echo raw),cache=writeback")
                qemu+=(-device "virtio-blk-pci,drive=disk$i,logical_block_size=$blk,physical_block_size=$blk")
                i=$((i + 1))
        done
        if [ "$tpm" = 1 ]; then
                _vm_start_tpm "${tpm_state:-$VM_TMP/tpm}"
                qemu+=(-chardev "socket,id=chrtpm,path=$SWTPM_SOCK"
                        -tpmdev emulator,id=tpm0,chardev=chrtpm -device tpm-tis,tpmdev=tpm0)
        fi
        if [ "$net" = 1 ]; then
                VM_SSH_PORT=$(_vm_free_port)
                qemu+=(-netdev "user,id=n0,hostfwd=tcp:127.0.0.1:$VM_SSH_PORT-:22"
                        -device virtio-net-pci,netdev=n0 -device virtio-rng-pci)
        fi

        : >"$VM_LOG"
        printf '%q ' qemu-system-x86_64 "${qemu[@]}" >"$VM_QEMU_LOG"
        echo >>"$VM_QEMU_LOG"
        VM_START_TIME=$(_vm_now)
        # timeout(1) enforces the limit; --foreground keeps qemu in our
        # process group, so meson's kill of the group reaches it too.
        timeout --foreground --kill-after=10 "$VM_TIMEOUT" \
                qemu-system-x86_64 "${qemu[@]}" </dev/null >>"$VM_QEMU_LOG" 2>&1 &
        VM_PID=$!
        echo "vm: boot $VM_BOOTS of $VM_NAME started (serial log $VM_LOG)"
}

# _vm_stop: end the running VM (if any) and then its swtpm, by pid.
_vm_stop() {
        local rc=0
        if [ -n "$VM_PID" ]; then
                # timeout(1) passes the TERM on to qemu (and KILLs after 10 s).
                kill -TERM "$VM_PID" 2>/dev/null || :
                wait "$VM_PID" 2>/dev/null || rc=$?
                VM_PID=
        fi
        if [ -n "$VM_SWTPM_PID" ]; then
                swtpm_stop "$VM_SWTPM_PID"
                VM_SWTPM_PID=
        fi
        return "$rc"
}

_vm_cleanup() {
        _vm_stop || :
}

vm_kill() {
        _vm_stop || :
        echo "vm: boot $VM_BOOTS of $VM_NAME killed after $(_vm_elapsed "$VM_START_TIME") s"
}

# The serial log without the console's \r, for grep.
_vm_log_text() {
        tr -d '\r' <"${1:-$VM_LOG}"
}

vm_wait_log() {
        local re=$1 limit=${2:-$VM_TIMEOUT} start
        start=$(_vm_now)
        while ! _vm_log_text | grep -E -e "$re" >/dev/null; do
                [ -n "$VM_PID" ] && kill -0 "$VM_PID" 2>/dev/null || return 1
                [ $(($(_vm_now) - start)) -lt $((limit * 1000000)) ] || return 1
                sleep 0.2
        done
}

vm_qmp() {
        local i
        # The socket appears once qemu has parsed its options.
        for i in $(seq 1 100); do
                [ -S "$VM_QMP_SOCK" ] && break
                kill -0 "$VM_PID" 2>/dev/null || return 1
                sleep 0.1
        done
        # Debian's python3: a version-manager shim on PATH costs ~0.5 s a call.
        "$(command -v /usr/bin/python3 || command -v python3)" - "$VM_QMP_SOCK" "$1" <<'EOF'
import json, socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(60)
s.connect(sys.argv[1])
f = s.makefile("rw")
def reply():
    while True:
        m = json.loads(f.readline())
        if "event" not in m:
            return m
reply()  # greeting
for cmd in ({"execute": "qmp_capabilities"}, json.loads(sys.argv[2])):
    f.write(json.dumps(cmd) + "\n")
    f.flush()
    r = reply()
    if "error" in r:
        print("vm_qmp: %s" % json.dumps(r["error"]), file=sys.stderr)
        sys.exit(1)
print(json.dumps(r["return"]))
EOF
}

# Print the guest's last "N passed, M failed" line of a log.
vm_result() {
        _vm_log_text "${1:-$VM_LOG}" | grep -E '^[0-9]+ passed, [0-9]+ failed$' | tail -1
}

vm_log_values() {
        _vm_log_text "${2:-$VM_LOG}" | awk -v k="$1" '$1 == k { print $2 }'
}

vm_wait() {
        local rc=0 took result
        [ -n "$VM_PID" ] || die "vm_wait: no VM running"
        wait "$VM_PID" || rc=$?
        VM_PID=
        _vm_stop
        took=$(_vm_elapsed "$VM_START_TIME")
        if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
                _vm_failed "timed out after $VM_TIMEOUT s"
                return 1
        fi
        if [ -n "$VM_DONE_RE" ]; then
                _vm_log_text | grep -E -e "$VM_DONE_RE" >/dev/null ||
                        { _vm_failed "no line matching '$VM_DONE_RE' (qemu status $rc, $took s)"; return 1; }
                echo "vm: boot $VM_BOOTS of $VM_NAME done in $took s"
                return 0
        fi
        result=$(vm_result "$VM_LOG") || :
        if ! [[ $result =~ ^([0-9]+)\ passed,\ 0\ failed$ ]] || [ "${BASH_REMATCH[1]}" = 0 ]; then
                _vm_failed "guest result '${result:-none}' (qemu status $rc, $took s)"
                return 1
        fi
        # The guest's own assertions, so the test's output tells the whole story.
        _vm_log_text | grep -E '^(not )?ok - ' | sed 's/^/guest: /' || :
        echo "vm: boot $VM_BOOTS of $VM_NAME: $result in $took s"
}

# Say why a boot failed and show the end of its logs (meson keeps stdout).
_vm_failed() {
        echo "vm: boot $VM_BOOTS of $VM_NAME FAILED: $*"
        echo "vm: --- last lines of $VM_LOG ---"
        _vm_log_text | tail -n 40
        echo "vm: --- $VM_QEMU_LOG ---"
        tail -n 20 "$VM_QEMU_LOG"
}

vm_run() {
        vm_start "$@"
        vm_wait
}
