#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The "full system" VM guest: a Debian 12 (bookworm) root filesystem made
# with debootstrap + apt, turned into a raw GPT disk image plus the guest's
# kernel and a dracut initrd, so the VM harness can boot it directly
# (qemu -kernel/-initrd/-append, no boot loader).
#
#   mkguest.sh OUTDIR          build OUTDIR/{disk.raw,vmlinuz,initrd.img,cmdline}
#
# Tests source this file and call the functions instead, so they can bake
# their own files into the image before the disk is made:
#
#   . tests/vm/debian/mkguest.sh
#   deb_guest_image OUTDIR my_customize_fn...   # each fn gets the rootfs dir
#
# Two stages, because the first one is slow (≈ 3 min on 2 cores) and the
# second one is not (seconds):
#   1. deb_rootfs_cache: debootstrap + apt-get in a chroot, dracut for the
#      guest kernel, all packed into $CVM_BUILDDIR/vm-cache/debian12-rootfs.tar.
#      The tarball is keyed by a hash of the suite, the package list and the
#      code of the functions that build it, and built under flock, so
#      concurrent tests wait for one build and later runs reuse it.
#   2. deb_guest_image: unpack the tarball, reset what must differ per guest
#      (machine-id, ssh host keys), apply the callers' customizations and
#      write the disk image with `mkfs.ext4 -d` at the partition's offset.
#      No loop device, no mount, no device-mapper: the host kernel has
#      neither dm nor GPT parsing, and none is needed to write a file.
#      A later "encrypt root" step slots in as another deb_disk_* function.
#
# Environment: CVM_BUILDDIR (cache lives in $CVM_BUILDDIR/vm-cache),
# CVM_DEBIAN_MIRROR (default http://deb.debian.org/debian),
# CVM_DEB_ROOT_MIB (root partition size, default 2048).

set -eu -o pipefail
# Failures inside $(...) must count too (bash clears -e there otherwise).
shopt -s inherit_errexit

DEB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# Sourced by a test that already has the shared helpers: sourcing common.sh
# again would reset its at_exit list.
declare -F at_exit >/dev/null || . "$DEB_DIR/../../lib/common.sh"

DEB_SUITE=bookworm
DEB_MIRROR=${CVM_DEBIAN_MIRROR:-http://deb.debian.org/debian}
DEB_CACHE=$CVM_BUILDDIR/vm-cache
DEB_ROOTFS_TAR=$DEB_CACHE/debian12-rootfs.tar

# Installed with apt (not debootstrap --include): dracut conflicts with
# initramfs-tools, which debootstrap's resolver would pick for the kernel's
# "initramfs-tools | linux-initramfs-tool" dependency. No Recommends.
DEB_PACKAGES=(
        systemd systemd-sysv udev dbus kmod procps
        linux-image-amd64
        # dracut modules systemd, crypt, tpm2-tss; tpm2-tss needs `tpm2`
        dracut dracut-core dmsetup cryptsetup cryptsetup-bin
        tpm2-tools libtss2-tcti-device0 libtss2-rc0 libtss2-mu0 libtss2-esys-3.0.2-0
        e2fsprogs xfsprogs btrfs-progs fdisk util-linux cloud-guest-utils
        # NoCloud; cloud-init is disabled by its generator when no seed is attached
        cloud-init
        openssh-server iproute2
)

# Root filesystem identity: fixed so the kernel command line is known
# before the image exists. GPT type is the discoverable-partitions "root
# x86-64" type, which systemd-repart/gpt-auto and growers recognise.
DEB_ROOT_UUID=6c1c6c86-3d8e-4c55-9c0b-7f2d1d3e0a01
DEB_ROOT_PARTTYPE=4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709
DEB_ROOT_PARTLABEL=root
DEB_ALIGN_MIB=1

# ---------------------------------------------------------------------------
# Stage 1: the cached root filesystem tarball
# ---------------------------------------------------------------------------

# Everything below that runs in the chroot is hashed into the cache key
# (declare -f prints the normalised code without comments, so editing a
# comment does not cost a rebuild).
_DEB_ROOTFS_FUNCS=(deb_rootfs_debootstrap deb_rootfs_preconfigure deb_rootfs_install
                   deb_rootfs_dracut_conf deb_rootfs_initrd deb_rootfs_finish deb_chroot
                   _deb_rootfs_build_steps)

deb_rootfs_key() {
        {
                echo "$DEB_SUITE"
                printf '%s\n' "${DEB_PACKAGES[@]}"
                declare -f "${_DEB_ROOTFS_FUNCS[@]}"
        } | sha256sum | cut -d' ' -f1
}

# deb_chroot ROOT CMD...: run CMD in ROOT with /proc, /sys and /dev mounted
# and the .deb cache bound to apt's archive dir. The mounts live in a
# private mount namespace, so they vanish with the command however it
# ends, and the host never sees them.
deb_chroot() {
        local root=$1
        shift
        mkdir -p "$DEB_CACHE/debs/partial"
        # shellcheck disable=SC2016 # expanded by the inner sh, from its arguments
        unshare --mount --propagation private -- /bin/sh -euc '
                root=$1 debs=$2
                shift 2
                mount -t proc proc "$root/proc"
                mount -t sysfs sysfs "$root/sys"
                mount --rbind /dev "$root/dev"
                mount --bind "$debs" "$root/var/cache/apt/archives"
                exec chroot "$root" /usr/bin/env -i \
                        PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C.UTF-8 HOME=/root \
                        DEBIAN_FRONTEND=noninteractive INITRD=No "$@"
        ' sh "$root" "$DEB_CACHE/debs" "$@"
}

# minbase + apt rather than debootstrap --include: see DEB_PACKAGES. In its
# own mount namespace too, so the /proc and /sys debootstrap mounts in the
# target cannot outlive a failed run (and meet the next run's rm -rf).
deb_rootfs_debootstrap() {
        local root=$1
        mkdir -p "$DEB_CACHE/debs"
        unshare --mount --propagation private -- \
                debootstrap --variant=minbase --cache-dir="$DEB_CACHE/debs" \
                "$DEB_SUITE" "$root" "$DEB_MIRROR"
}

# Before apt runs: no docs/man/locales (a third less to tar, unpack and
# copy into every image), no fsync per file (the chroot is thrown away on
# failure anyway), no daemons started by maintainer scripts, no
# Recommends.
deb_rootfs_preconfigure() {
        local root=$1
        cat >"$root/etc/dpkg/dpkg.cfg.d/90-cvm-nodoc" <<-'EOF'
	path-exclude=/usr/share/doc/*
	path-exclude=/usr/share/man/*
	path-exclude=/usr/share/info/*
	path-exclude=/usr/share/locale/*
	path-include=/usr/share/locale/locale.alias
	path-exclude=/usr/share/lintian/*
	EOF
        echo force-unsafe-io >"$root/etc/dpkg/dpkg.cfg.d/90-cvm-unsafe-io"
        cat >"$root/etc/apt/apt.conf.d/90-cvm" <<-'EOF'
	APT::Install-Recommends "false";
	APT::Install-Suggests "false";
	Acquire::Languages "none";
	EOF
        printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
        chmod 755 "$root/usr/sbin/policy-rc.d"
        # debootstrap's own packages were unpacked before the excludes existed
        rm -rf "$root"/usr/share/{doc,man,info}/*
}

deb_rootfs_install() {
        local root=$1
        deb_chroot "$root" apt-get -q update
        # INITRD=No (set by deb_chroot) keeps the kernel's postinst hook from
        # running dracut before tpm2-tools is there; deb_rootfs_initrd runs
        # it once, at the end.
        deb_chroot "$root" apt-get -q -y install "${DEB_PACKAGES[@]}"
}

# The initrd is generic (not host-only: the chroot's "host" is the build
# machine), but lists its drivers so it stays small: every module dracut
# would pick for a generic initrd costs boot time under TCG. The
# filesystem and dm-crypt modules cover the later LUKS2 and xfs/btrfs
# guests; the crypt and tpm2-tss dracut modules let systemd-cryptsetup
# unlock the root through a TPM2 token (Debian's cryptsetup-initramfs
# cannot). dracut's btrfs module is left out: it loads btrfs (and its
# raid6 benchmark) on every boot; btrfs.ko itself stays, and the kernel
# loads it when a btrfs root is mounted.
deb_rootfs_dracut_conf() {
        cat <<-'EOF'
	hostonly="no"
	add_dracutmodules+=" systemd crypt tpm2-tss "
	omit_dracutmodules+=" plymouth i18n btrfs "
	drivers+=" virtio_blk virtio_scsi virtio_pci virtio_console sd_mod "
	filesystems+=" ext4 xfs btrfs vfat "
	compress="zstd"
	EOF
}

deb_rootfs_initrd() {
        local root=$1 kver
        deb_rootfs_dracut_conf >"$root/etc/dracut.conf.d/90-cvm-vm.conf"
        kver=$(deb_kernel_version "$root")
        deb_chroot "$root" dracut --force --kver "$kver" "/boot/initrd.img-$kver"
}

deb_rootfs_finish() {
        local root=$1
        rm -f "$root/usr/sbin/policy-rc.d" "$root/etc/dpkg/dpkg.cfg.d/90-cvm-unsafe-io"
        rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin
        rm -rf "$root"/usr/share/{doc,man,info}/* "$root"/var/log/*.log
        # The same host keys in every guest would defeat the point; they are
        # made at first boot (deb_customize_base).
        rm -f "$root"/etc/ssh/ssh_host_*
}

# deb_kernel_version ROOT: the one kernel installed in ROOT.
deb_kernel_version() {
        local root=$1 d
        d=("$root"/lib/modules/*)
        if [ ${#d[@]} != 1 ] || [ ! -d "${d[0]}" ]; then
                die "expected one kernel in $root/lib/modules, got: ${d[*]}"
        fi
        basename "${d[0]}"
}

_deb_time() {
        local t=$SECONDS
        "$@"
        echo "mkguest: $1 took $((SECONDS - t)) s" >&2
}

_deb_rootfs_build_steps() {
        local root=$1
        _deb_time deb_rootfs_debootstrap "$root"
        _deb_time deb_rootfs_preconfigure "$root"
        _deb_time deb_rootfs_install "$root"
        _deb_time deb_rootfs_initrd "$root"
        _deb_time deb_rootfs_finish "$root"
}

_deb_rootfs_build() {
        local key=$1 root=$DEB_CACHE/debian12-rootfs.tmp log=$DEB_CACHE/debian12-rootfs.log rc
        rm -rf "$root"
        mkdir -p "$root"
        echo "mkguest: building the Debian 12 rootfs cache (log: $log)" >&2
        # Not "if ! steps": bash ignores set -e inside a tested command, and
        # a failed step must stop the build.
        set +e
        (
                set -e
                _deb_rootfs_build_steps "$root"
        ) >"$log" 2>&1
        rc=$?
        set -e
        grep '^mkguest: ' "$log" >&2 || true
        if [ "$rc" != 0 ]; then
                tail -n 30 "$log" >&2
                rm -rf "$root"
                die "building the Debian rootfs failed (full log: $log)"
        fi
        # --numeric-owner: the ids must be the guest's, not the host's names.
        # xattrs carry file capabilities (ping, etc.).
        tar --numeric-owner --xattrs --xattrs-include='*' -C "$root" \
                -cf "$DEB_ROOTFS_TAR.tmp" .
        rm -rf "$root"
        mv "$DEB_ROOTFS_TAR.tmp" "$DEB_ROOTFS_TAR"
        echo "$key" >"$DEB_ROOTFS_TAR.key"
}

# deb_rootfs_cache: make sure $DEB_ROOTFS_TAR is current. Holds the lock
# only while checking/building, so image builds from it run in parallel.
deb_rootfs_cache() {
        local key fd
        require_root
        require_cmd debootstrap unshare chroot tar
        mkdir -p "$DEB_CACHE"
        key=$(deb_rootfs_key)
        exec {fd}>"$DEB_CACHE/debian12-rootfs.lock"
        flock -w 3600 "$fd" || die "timed out waiting for $DEB_CACHE/debian12-rootfs.lock"
        if [ -f "$DEB_ROOTFS_TAR" ] && [ "$(cat "$DEB_ROOTFS_TAR.key" 2>/dev/null)" = "$key" ]; then
                echo "mkguest: using cached $DEB_ROOTFS_TAR" >&2
        else
                _deb_time _deb_rootfs_build "$key"
        fi
        exec {fd}>&-
}

# ---------------------------------------------------------------------------
# Stage 2: per-image customization and the disk image
# ---------------------------------------------------------------------------

deb_unpack_rootfs() {
        local stage=$1
        mkdir -p "$stage"
        # mktemp made it 0700; the guest's / must be 0755 whatever tar does.
        chmod 0755 "$stage"
        tar --numeric-owner --xattrs --xattrs-include='*' -C "$stage" -xpf "$DEB_ROOTFS_TAR"
}

# What every guest gets, whatever the test.
deb_customize_base() {
        local root=$1
        # "uninitialized" makes this boot a first boot (ConditionFirstBoot=yes);
        # systemd 252 does not treat an empty file so. dbus must not keep a
        # copy of its own.
        echo uninitialized >"$root/etc/machine-id"
        rm -f "$root/var/lib/dbus/machine-id"
        # On a first boot PID 1 applies the preset policy ("enable" for
        # everything not listed in Debian's presets, which would e.g. enable
        # ssh.socket next to ssh.service). Keep the image's own enablement.
        mkdir -p "$root/etc/systemd/system-preset"
        echo 'disable *' >"$root/etc/systemd/system-preset/00-cvm-guest.preset"
        # systemd-firstboot would otherwise stop the boot and prompt for a
        # locale on the console (Debian keeps it in /etc/default/locale).
        echo LANG=C.UTF-8 >"$root/etc/locale.conf"

        echo cvm-guest >"$root/etc/hostname"
        printf '127.0.0.1 localhost\n127.0.1.1 cvm-guest\n' >"$root/etc/hosts"
        printf 'UUID=%s / ext4 defaults 0 1\n' "$DEB_ROOT_UUID" >"$root/etc/fstab"

        # No password login for root, on the console or anywhere else.
        sed -i -e 's/^root:[^:]*:/root:*:/' "$root/etc/shadow"
        # The console getty, independent of the kernel command line.
        ln -sf /lib/systemd/system/serial-getty@.service \
                "$root/etc/systemd/system/getty.target.wants/serial-getty@ttyS0.service"

        deb_customize_network "$root"
        deb_customize_ssh "$root"
        deb_customize_speed "$root"
        # cloud-init is left to ds-identify (Debian's default config): it
        # stays disabled unless a test attaches a NoCloud seed (a "cidata"
        # file system). A datasource_list of only [NoCloud] would be a
        # trap: ds-identify takes a single-entry list as "found" and
        # cloud-init then runs (≈ 40 s of TCG) without any seed.
}

# DHCP on the virtio NIC with systemd-networkd (part of Debian's systemd
# package): no ifupdown, so cloud-init, when a test enables it, renders
# its network config for networkd too.
deb_customize_network() {
        local root=$1
        cat >"$root/etc/systemd/network/80-cvm-dhcp.network" <<-'EOF'
	[Match]
	Name=en* eth*

	[Network]
	DHCP=ipv4
	EOF
        ln -sf /lib/systemd/system/systemd-networkd.service \
                "$root/etc/systemd/system/multi-user.target.wants/systemd-networkd.service"
        mkdir -p "$root/etc/systemd/system/sockets.target.wants"
        ln -sf /lib/systemd/system/systemd-networkd.socket \
                "$root/etc/systemd/system/sockets.target.wants/systemd-networkd.socket"
}

# Under TCG every module load and every service costs whole seconds on
# the guest's single vCPU, and most of them have nothing to do with the
# tests. A blacklist stops the alias-based autoloads (udev's modaliases and
# the kernel's request_module): kvm/kvm_amd/ccp for "-cpu max"'s svm flag,
# cfg80211 (≈ 10 s: systemd-networkd asks for the nl80211 netlink family,
# and the module verifies its X.509 certificates and regulatory db) and
# the q35 chipset's watchdog, SMBus, LPC, PC-speaker and PS/2-mouse drivers.
# e2scrub_reap only removes e2scrub's LVM snapshots; there is no LVM.
deb_customize_speed() {
        local root=$1 m
        for m in kvm kvm_amd kvm_intel ccp cfg80211 iTCO_wdt iTCO_vendor_support \
                lpc_ich i2c_i801 pcspkr serio_raw psmouse; do
                echo "blacklist $m"
        done >"$root/etc/modprobe.d/cvm-guest.conf"
        ln -sf /dev/null "$root/etc/systemd/system/e2scrub_reap.service"
}

# Debian 12's openssh-server makes host keys in its postinst only; there
# is no boot-time generator (Debian's cloud images leave it to cloud-init's
# cc_ssh, which deletes and regenerates them). The image ships no keys, so
# a oneshot makes one before sshd starts, ordered after cloud-init so that
# cloud-init's keys win when a test enables it. Only ed25519 (0.3 s):
# `ssh-keygen -A` would add RSA-3072, whose prime search takes 30-40 s of
# TCG. Before cvm-authcheck.service (when installed), which quotes the
# keys that exist when it runs. With no HostKey lines in sshd_config, sshd silently skips the
# default key files that do not exist.
deb_customize_ssh() {
        local root=$1
        mkdir -p "$root/etc/systemd/system/ssh.service.wants"
        cat >"$root/etc/systemd/system/cvm-ssh-hostkeys.service" <<-'EOF'
	[Unit]
	Description=Generate missing SSH host keys (the image ships none)
	After=cloud-init.service
	Before=ssh.service cvm-authcheck.service
	ConditionPathExists=!/etc/ssh/ssh_host_ed25519_key

	[Service]
	Type=oneshot
	ExecStart=/usr/bin/ssh-keygen -q -t ed25519 -N "" -C "" -f /etc/ssh/ssh_host_ed25519_key

	[Install]
	WantedBy=ssh.service
	EOF
        ln -sf ../cvm-ssh-hostkeys.service \
                "$root/etc/systemd/system/ssh.service.wants/cvm-ssh-hostkeys.service"
        rm -f "$root"/etc/ssh/ssh_host_*
        # Also drop the socket-activated variant: ssh.service is what we enable.
        rm -f "$root/etc/systemd/system/sockets.target.wants/ssh.socket"
}

# deb_boot_files ROOT OUTDIR: the kernel and initrd for direct boot.
deb_boot_files() {
        local root=$1 out=$2 kver
        kver=$(deb_kernel_version "$root")
        cp "$root/boot/vmlinuz-$kver" "$out/vmlinuz"
        cp "$root/boot/initrd.img-$kver" "$out/initrd.img"
}

# deb_disk_plain ROOT IMG: GPT with one ext4 root partition made from the
# directory ROOT. The image is sparse; mke2fs writes the filesystem at the
# partition's offset into the file, so no loop device or mount is needed.
deb_disk_plain() {
        local root=$1 img=$2 size_mib=${CVM_DEB_ROOT_MIB:-2048}
        rm -f "$img"
        # room for the primary GPT before and the backup GPT after the partition
        truncate -s $(((size_mib + 2 * DEB_ALIGN_MIB) * 1024 * 1024)) "$img"
        sfdisk -q --no-reread --no-tell-kernel "$img" <<-EOF
	label: gpt
	start=${DEB_ALIGN_MIB}MiB, size=${size_mib}MiB, type=$DEB_ROOT_PARTTYPE, name=$DEB_ROOT_PARTLABEL
	EOF
        mkfs.ext4 -q -F -L root -U "$DEB_ROOT_UUID" \
                -E offset=$((DEB_ALIGN_MIB * 1024 * 1024)) \
                -d "$root" "$img" "${size_mib}M"
        echo "root=UUID=$DEB_ROOT_UUID rw"
}

# deb_guest_image OUTDIR [CUSTOMIZE_FN...]: build OUTDIR/disk.raw,
# vmlinuz, initrd.img and cmdline (the kernel command line for the disk).
# Each CUSTOMIZE_FN is called with the unpacked root directory, after the
# base customization and before the disk is written. The disk is written
# by $DEB_DISK_FN (default deb_disk_plain), called as `FN ROOTDIR IMG`; it
# prints the root= part of the command line. An encrypted-root variant
# (e.g. on top of tests/vm/lib/mkdisk.sh's mkdisk_luks_gpt, printing
# "root=/dev/mapper/root rd.luks.uuid=...") slots in there, together with
# a CUSTOMIZE_FN that writes the matching /etc/fstab and /etc/crypttab.
deb_guest_image() {
        local out=$1 stage fn rootarg
        shift
        require_cmd sfdisk mkfs.ext4
        deb_rootfs_cache
        mkdir -p "$out"
        stage=$(mktemp -d "$out/rootfs.XXXXXX")
        at_exit rm -rf "$stage"
        _deb_time deb_unpack_rootfs "$stage"
        deb_customize_base "$stage"
        for fn in "$@"; do
                "$fn" "$stage"
        done
        deb_boot_files "$stage" "$out"
        rootarg=$(_deb_time "${DEB_DISK_FN:-deb_disk_plain}" "$stage" "$out/disk.raw")
        rm -rf "$stage"
        # console=ttyS0: the harness reads the serial log. panic=-1: a panic
        # ends the VM at once instead of hanging until the test's timeout.
        echo "$rootarg console=ttyS0 panic=-1" >"$out/cmdline"
}

# ---------------------------------------------------------------------------
# Stage 3: the CVM image (encrypted root, cvm-firstboot installed)
# ---------------------------------------------------------------------------
#
#   deb_package_deb             print the path of the cvm-firstboot .deb built
#                               from $CVM_SRCDIR by `dpkg-buildpackage -us -uc -b`
#                               (cached, keyed by a hash of the source tree)
#   deb_install_package ROOT DEB
#                               `dpkg -i` DEB in the chroot ROOT (maintainer
#                               scripts run; their `systemctl preset` enables
#                               nothing under this guest's "disable *")
#   deb_enable_cvm_units ROOT   enable the units the installed package's
#                               preset file enables (all four)
#   deb_disk_luks ROOT IMG      DEB_DISK_FN for an encrypted root (see below)
#   deb_cvm_image OUTDIR [FN...]
#                               the whole CVM image: deb_guest_image with the
#                               package installed, the temporary keys, crypttab,
#                               fstab and an initrd regenerated by the image's
#                               own dracut with our module; FNs as for
#                               deb_guest_image. Also writes OUTDIR/luks-uuid.
#
# The image as today's CVM images ship it: a LUKS2 root (PBKDF2, cheap: the
# key is random and temporary) whose only keyslot 0 holds the image-build
# key, and the legacy cloud-init key file /cc_growpart_keydata
# ({"key": base64, "slot": 0}) inside the root filesystem. The initrd
# carries the same key (rd.luks.key=) so the first boot can open the root;
# crypttab and the command line ask for TPM2 tokens first
# (tpm2-device=auto), so once first boot has enrolled a TPM2 token and wiped
# slot 0, the root opens from the TPM and the key in the initrd opens
# nothing. Sizes: CVM_DEB_ROOT_MIB (partition, default 2048) on a sparse
# disk of CVM_DEB_DISK_MIB (default 6144): a disk bigger than its image.

DEB_LUKS_NAME=root
DEB_INITRD_KEY=/etc/cvm-image.key

# The source files the package is built from: what git tracks or would
# track (not build dirs), or everything outside build*/ without git.
_deb_src_files() {
        if git -C "$CVM_SRCDIR" rev-parse --git-dir >/dev/null 2>&1; then
                git -C "$CVM_SRCDIR" ls-files -z -c -o --exclude-standard | sort -z
        else
                (cd "$CVM_SRCDIR" && find . -path './build*' -prune -o -path ./.git -prune -o -type f -print0 | sort -z)
        fi
}

# The key hashes names and contents; a tracked file deleted in the work
# tree simply drops out (sha256sum complains, the key still differs).
_deb_src_key() {
        (cd "$CVM_SRCDIR" && { _deb_src_files | xargs -0 -r sha256sum -- 2>/dev/null || :; }) |
                sha256sum | cut -c1-16
}

_deb_package_build() {
        local out=$1 tmp=$DEB_CACHE/deb-build.tmp log=$DEB_CACHE/deb-build.log rc=0
        rm -rf "$tmp"
        mkdir -p "$tmp/cvm-firstboot"
        # A copy of the source tree: dpkg-buildpackage writes into it (debian/,
        # obj-*/) and puts the .debs in its parent directory.
        (cd "$CVM_SRCDIR" && _deb_src_files | tar --null --ignore-failed-read -T - -cf - 2>/dev/null) |
                tar -C "$tmp/cvm-firstboot" -xf -
        echo "mkguest: building the package (log: $log)" >&2
        (cd "$tmp/cvm-firstboot" && dpkg-buildpackage -us -uc -b) >"$log" 2>&1 || rc=$?
        if [ "$rc" != 0 ]; then
                tail -n 30 "$log" >&2
                die "dpkg-buildpackage failed (full log: $log)"
        fi
        set -- "$tmp"/cvm-firstboot_*.deb
        [ $# = 1 ] && [ -f "$1" ] || die "dpkg-buildpackage made no single cvm-firstboot_*.deb"
        mv "$1" "$out"
        rm -rf "$tmp"
}

deb_package_deb() {
        local key out fd
        require_cmd dpkg-buildpackage
        mkdir -p "$DEB_CACHE/deb"
        key=$(_deb_src_key)
        out=$DEB_CACHE/deb/cvm-firstboot-$key.deb
        exec {fd}>"$DEB_CACHE/deb/.lock"
        flock -w 1800 "$fd" || die "timed out waiting for $DEB_CACHE/deb/.lock"
        if [ -f "$out" ]; then
                echo "mkguest: using cached $out" >&2
        else
                # Older builds of other trees are of no use.
                rm -f "$DEB_CACHE"/deb/cvm-firstboot-*.deb
                _deb_time _deb_package_build "$out"
        fi
        exec {fd}>&-
        echo "$out"
}

deb_install_package() {
        local root=$1 deb=$2
        cp "$deb" "$root/tmp/cvm-firstboot.deb"
        deb_chroot "$root" dpkg -i /tmp/cvm-firstboot.deb >"$DEB_CACHE/dpkg-install.log" 2>&1 ||
                { cat "$DEB_CACHE/dpkg-install.log" >&2; die "dpkg -i $deb failed in the image"; }
        rm -f "$root/tmp/cvm-firstboot.deb"
}

# deb_disk_luks ROOT IMG: GPT disk whose partition 1 is a LUKS2 volume
# holding ext4 made from ROOT, keyslot 0 = $DEB_IMAGE_KEY (a file), LUKS
# UUID $DEB_LUKS_UUID. Built without device-mapper (tests/vm/lib/mkdisk.sh).
# With DEB_LUKS_PART_HOOK set, `$DEB_LUKS_PART_HOOK PART` runs on the
# partition's image after that (e.g. cvm-enroll seal-offline: the
# offline-sealed image). Prints the root= part of the command line.
_deb_luks_part_hook() {
        cryptsetup luksUUID --batch-mode --uuid "$DEB_LUKS_UUID" "$1" || return
        [ -z "${DEB_LUKS_PART_HOOK:-}" ] || $DEB_LUKS_PART_HOOK "$1"
}

deb_disk_luks() {
        local root=$1 img=$2
        . "$DEB_DIR/../lib/mkdisk.sh"
        mkdisk_luks_gpt "$img" "${CVM_DEB_DISK_MIB:-6144}" "${CVM_DEB_ROOT_MIB:-2048}" "$root" "$DEB_IMAGE_KEY" \
                ext4 --part-hook _deb_luks_part_hook >&2
        # The initrd opens the root (rd.luks.name=: systemd-cryptsetup, and
        # cvm-growroot-initrd finds the device there); a TPM2 token first,
        # else its passphrase prompt, which the image's key agent answers
        # (deb_cvm_key_agent). Not rd.luks.key=: together with
        # tpm2-device= systemd-cryptsetup 252 reads a key file as a sealed
        # TPM2 blob, and falls back to the prompt.
        echo "root=/dev/mapper/$DEB_LUKS_NAME rw rd.luks.name=$DEB_LUKS_UUID=$DEB_LUKS_NAME" \
                "rd.luks.options=tpm2-device=auto"
}

# The dracut configuration our images add (hashed into the initrd cache key).
deb_cvm_dracut_conf() {
        echo 'add_dracutmodules+=" cvm-growroot cvm-image-key "'
}

# deb_cvm_key_agent ROOT: the image's first-boot unlock, a dracut module
# (image builder's, not the package's): a password agent in the initrd
# answers systemd-cryptsetup's passphrase prompt with the build key that
# the image's initrd carries in $DEB_INITRD_KEY, until the root is open.
# Once cvm-enroll-firstboot has wiped that slot, the TPM2 token opens the
# root before any prompt, and the key opens nothing.
deb_cvm_key_agent() {
        local root=$1 d=$1/usr/lib/dracut/modules.d/91cvm-image-key
        mkdir -p "$d"
        cat >"$d/module-setup.sh" <<-'EOF'
	#!/bin/bash
	check() { return 255; }
	depends() { echo systemd crypt; }
	install() {
	        inst_multiple /usr/lib/systemd/systemd-reply-password sed sleep
	        inst_simple "$moddir/cvm-image-key-agent.sh" /usr/lib/cvm-image-key-agent.sh
	        inst_simple "$moddir/cvm-image-key-agent.service" "$systemdsystemunitdir/cvm-image-key-agent.service"
	        $SYSTEMCTL -q --root "$initdir" add-wants sysinit.target cvm-image-key-agent.service
	}
	EOF
        cat >"$d/cvm-image-key-agent.service" <<-EOF
	[Unit]
	Description=Answer the root's passphrase prompt with the image-build key
	DefaultDependencies=no
	ConditionPathExists=$DEB_INITRD_KEY
	Before=initrd-switch-root.target
	Conflicts=initrd-switch-root.target

	[Service]
	Type=simple
	ExecStart=/bin/bash /usr/lib/cvm-image-key-agent.sh
	EOF
        cat >"$d/cvm-image-key-agent.sh" <<-EOF
	#!/bin/bash
	# Every ask-password request for the root gets the key, once each.
	declare -A answered
	for ((i = 0; i < 1200; i++)); do
	        [ -e /dev/mapper/$DEB_LUKS_NAME ] && exit 0
	        for f in /run/systemd/ask-password/ask.*; do
	                [ -f "\$f" ] && [ -z "\${answered[\$f]-}" ] || continue
	                sock=\$(sed -n 's/^Socket=//p' "\$f")
	                [ -n "\$sock" ] || continue
	                answered[\$f]=1
	                /usr/lib/systemd/systemd-reply-password 1 "\$sock" <$DEB_INITRD_KEY
	        done
	        sleep 0.5
	done
	EOF
        chmod 0755 "$d/module-setup.sh"
}

# _deb_cvm_initrd ROOT KVER: /boot/initrd.img-KVER regenerated by the
# image's own dracut, with our module. dracut takes ≈ 1-2 min of the
# image build, and its output depends only on the rootfs, the package and
# the configuration: cached under that key (the per-image build key is
# not in it, see deb_customize_cvm).
_deb_cvm_initrd() {
        local root=$1 kver=$2 key cache
        key=$({
                cat "$DEB_ROOTFS_TAR.key"
                # the package's file contents, not the .deb (whose key
                # changes with every edit of the source tree, docs included)
                dpkg-deb -I "$DEB_PACKAGE" md5sums
                declare -f deb_cvm_key_agent
                echo "$DEB_INITRD_KEY $DEB_LUKS_NAME"
                deb_cvm_dracut_conf
                declare -f _deb_cvm_initrd
        } | sha256sum | cut -c1-16)
        cache=$DEB_CACHE/deb/initrd-$key.img
        if [ -f "$cache" ]; then
                echo "mkguest: using cached $cache" >&2
                cp "$cache" "$root/boot/initrd.img-$kver"
                return 0
        fi
        deb_chroot "$root" dracut --force --kver "$kver" "/boot/initrd.img-$kver" >"$DEB_CACHE/dracut.log" 2>&1 ||
                { tail -n 20 "$DEB_CACHE/dracut.log" >&2; die "dracut in the image failed (log: $DEB_CACHE/dracut.log)"; }
        rm -f "$DEB_CACHE"/deb/initrd-*.img
        cp "$root/boot/initrd.img-$kver" "$cache.tmp"
        mv "$cache.tmp" "$cache"
}

# deb_enable_cvm_units ROOT: enable in ROOT the units the package's preset
# file (80-cvm-firstboot.preset, installed in ROOT) enables, all of them.
# The package's postinst enables them with `systemctl preset`
# (deb-systemd-helper on a first installation), but in this guest the
# image's own "disable *" (deb_customize_base), at 00-, comes before the
# package's 80- and wins, as an administrator's policy should: so the
# image, like any image builder with such a policy, enables the package's
# list itself, read from the package rather than repeated here.
# `systemctl --root` edits ROOT offline (no chroot needed).
deb_enable_cvm_units() {
        local root=$1 preset units
        for preset in "$root"/{usr/,}lib/systemd/system-preset/80-cvm-firstboot.preset; do
                [ -f "$preset" ] && break
        done
        [ -f "$preset" ] || die "no 80-cvm-firstboot.preset under $root"
        units=$(sed -n 's/^enable \([^ ]*\)$/\1/p' "$preset")
        [ -n "$units" ] || die "$preset enables nothing"
        # shellcheck disable=SC2086 # one unit name per word
        systemctl --root="$root" enable $units >&2
}

# In the image: temporary keys, crypttab, fstab, our package, the initrd.
deb_customize_cvm() {
        local root=$1 kver tmp
        printf '{"key": "%s", "slot": 0}\n' "$(base64 -w0 "$DEB_IMAGE_KEY")" >"$root/cc_growpart_keydata"
        chmod 0600 "$root/cc_growpart_keydata"
        printf '%s UUID=%s none luks,discard,tpm2-device=auto\n' "$DEB_LUKS_NAME" "$DEB_LUKS_UUID" >"$root/etc/crypttab"
        printf '/dev/mapper/%s / ext4 defaults 0 1\n' "$DEB_LUKS_NAME" >"$root/etc/fstab"
        deb_install_package "$root" "$DEB_PACKAGE"
        deb_enable_cvm_units "$root"
        # dracut with systemd-cryptsetup (TPM2 tokens) and our module, which
        # grows the partition before the root is opened.
        deb_cvm_dracut_conf >"$root/etc/dracut.conf.d/91-cvm-firstboot.conf"
        deb_cvm_key_agent "$root"
        kver=$(deb_kernel_version "$root")
        _deb_time _deb_cvm_initrd "$root" "$kver"
        # The build key goes into the initrd only, never into the root's
        # /etc: as one more uncompressed cpio in front of dracut's archives
        # (the kernel unpacks concatenated archives in order, but finds no
        # archive after a compressed one: "invalid magic").
        tmp=$(mktemp -d)
        install -d -m 0755 "$tmp/etc"
        install -m 0600 "$DEB_IMAGE_KEY" "$tmp${DEB_INITRD_KEY}"
        (cd "$tmp" && printf '%s\n' etc "${DEB_INITRD_KEY#/}" | cpio -o -H newc -R 0:0 --quiet) >"$tmp/key.cpio"
        cat "$tmp/key.cpio" "$root/boot/initrd.img-$kver" >"$tmp/initrd"
        cat "$tmp/initrd" >"$root/boot/initrd.img-$kver"
        rm -rf "$tmp"
}

deb_cvm_image() {
        local out=$1
        shift
        require_cmd cryptsetup cpio
        mkdir -p "$out"
        DEB_PACKAGE=$(deb_package_deb)
        DEB_IMAGE_KEY=$out/image.key
        # Printable (base64 of 32 random bytes, no newline): the key agent
        # answers a passphrase prompt with it, one line.
        head -c 32 /dev/urandom | base64 -w0 | tr -d '\n' >"$DEB_IMAGE_KEY"
        chmod 0600 "$DEB_IMAGE_KEY"
        DEB_LUKS_UUID=$(cat /proc/sys/kernel/random/uuid)
        echo "$DEB_LUKS_UUID" >"$out/luks-uuid"
        DEB_DISK_FN=deb_disk_luks deb_guest_image "$out" deb_customize_cvm "$@"
}

# deb_luks_summary [offset]: cryptsetup's LUKS2 JSON metadata on stdin (not
# our tools' view of it) as "SLOTS|TOKENS", tokens as TYPE:SLOTS:temp=BOOL;
# with "offset", "|DATA_OFFSET_SECTORS" after them.
deb_luks_summary() {
        python3 -c '
import json, sys
m = json.load(sys.stdin)
slots = ",".join(sorted(m["keyslots"]))
toks = ",".join("%s:%s:temp=%s" % (t["type"], "+".join(t["keyslots"]), bool(t.get("cvm-temporary")))
                for _, t in sorted(m["tokens"].items()))
out = slots + "|" + toks
if sys.argv[1:] == ["offset"]:
    out += "|%d" % (int(m["segments"]["0"]["offset"]) // 512)
print(out)' "$@"
}

deb_main() {
        [ $# = 1 ] || { echo "usage: $0 OUTDIR" >&2; exit 2; }
        _deb_time deb_guest_image "$1"
        ls -l "$1"
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
        deb_main "$@"
fi
