#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Install what building and testing cvm-firstboot needs on Debian 12.
# Idempotent: packages already present are not downloaded again.
set -eu -o pipefail

packages=(
        # build
        meson ninja-build pkg-config gcc scdoc xfslibs-dev
        libcryptsetup-dev libfdisk-dev libblkid-dev libmount-dev libtss2-dev
        libsystemd-dev libjson-c-dev libssl-dev
        # host tier: TPM simulator, independent peers, disk tools
        swtpm swtpm-tools tpm2-tools cryptsetup-bin systemd
        fdisk gdisk e2fsprogs xfsprogs btrfs-progs squashfs-tools util-linux python3
        openssh-client openssh-server cloud-guest-utils
        # vm tier (dpkg-dev + debhelper: the full-guest test installs our .deb;
        # the unit tier's test-unit-enablement runs debhelper too)
        qemu-system-x86 qemu-utils ovmf sbsigntool osslsigncode systemd-boot-efi binutils
        dpkg-dev debhelper busybox-static kmod cpio zstd xz-utils dosfstools mtools debootstrap socat strace hyperfine
        # sanitizer, valgrind and fuzz tiers
        valgrind clang-14 libclang-rt-14-dev
)

if [ "$(id -u)" != 0 ]; then
        echo "error: run as root (apt-get install needs it)" >&2
        exit 1
fi

missing=()
for p in "${packages[@]}"; do
        [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" = "install ok installed" ] || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
        echo "Installing: ${missing[*]}"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
