#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Which units an installation enables, and that the units, the Debian
# package, its preset file and the VM image builder agree on it. On the
# build's real install tree (meson install --destdir), with the package's
# own maintainer script: debian/rules' dh_installsystemd and dh_installdeb
# generate DEBIAN/postinst, which runs as dpkg runs it on a first
# installation (deb-systemd-helper → `systemctl --root preset`).
#  * the units with an [Install] section are the four below; the initrd
#    unit is static (the initrd hooks pull it in);
#  * the postinst enables all four with no preset policy (stock Debian)
#    and under a policy ending in "disable *" (upstream systemd's
#    99-default.preset, as default-deny distributions ship it);
#  * under the VM guest's own "disable *" at 00- (tests/vm/debian
#    mkguest.sh) it enables nothing, as systemd's preset order wants, and
#    the image builder's deb_enable_cvm_units then enables the same four,
#    also in a merged-/usr root like the guest's.
set -eu -o pipefail
. "$(dirname "$0")/../lib/common.sh"

require_cmd systemctl deb-systemd-helper dh_installsystemd dh_installdeb make meson
tmp=$(test_tmpdir)
at_exit rm -rf "$tmp"

# Written down here, not derived from the files under test.
WANT="cvm-authcheck.service cvm-enroll-finalize.service cvm-enroll-firstboot.service cvm-growroot.service"

# enabled ROOT: the cvm units systemctl finds enabled in ROOT, sorted.
enabled() {
        systemctl --root="$1" list-unit-files --no-legend 'cvm-*' | awk '$2 == "enabled" { print $1 }' | sort |
                tr '\n' ' ' | sed 's/ $//'
}

# The package's tree: debian/ from the source, the install tree in
# debian/cvm-firstboot as dh_auto_install leaves it, then the package's
# own debian/rules target and dh_installdeb write DEBIAN/postinst.
src=$tmp/src
mkdir -p "$src"
cp -r "$CVM_SRCDIR/debian" "$src/"
meson install -C "$CVM_BUILDDIR" --destdir "$src/debian/cvm-firstboot" --no-rebuild --quiet >/dev/null
(cd "$src" && make -s -f debian/rules override_dh_installsystemd >/dev/null && dh_installdeb)
postinst=$src/debian/cvm-firstboot/DEBIAN/postinst
check "the package has a postinst" test -s "$postinst"

states=$(systemctl --root="$src/debian/cvm-firstboot" list-unit-files --no-legend 'cvm-*' |
        awk '{ print $1 "=" $2 }' | sort | tr '\n' ' ' | sed 's/ $//')
check_eq "unit files: four can be enabled, the initrd unit is static" \
        "cvm-authcheck.service=disabled cvm-enroll-finalize.service=disabled cvm-enroll-firstboot.service=disabled cvm-growroot-initrd.service=static cvm-growroot.service=disabled" \
        "$states"

# first_install NAME [PRESET-FILE LINE]: a copy of the package's tree as
# the root dpkg installs into, with the preset policy given, and the
# postinst run there. deb-systemd-helper uses `systemctl preset` only when
# the root has a systemctl, as a real system does.
first_install() {
        local root=$tmp/$1
        cp -a "$src/debian/cvm-firstboot" "$root"
        rm -rf "$root/DEBIAN"
        mkdir -p "$root/usr/bin" "$root/etc/systemd/system-preset"
        ln -s "$(command -v systemctl)" "$root/usr/bin/systemctl"
        [ $# -lt 3 ] || echo "$3" >"$root/etc/systemd/system-preset/$2"
        DPKG_ROOT=$root DPKG_MAINTSCRIPT_PACKAGE=cvm-firstboot DPKG_MAINTSCRIPT_NAME=postinst \
                sh "$postinst" configure >"$tmp/$1.log" 2>&1 || { cat "$tmp/$1.log"; return 1; }
        ROOT=$root
}

first_install stock
check_eq "package, no preset policy (stock Debian): the four are enabled" "$WANT" "$(enabled "$ROOT")"

first_install default-deny 99-default.preset 'disable *'
check_eq "package, policy ending in 'disable *': its preset keeps the four enabled" "$WANT" "$(enabled "$ROOT")"

first_install guest 00-cvm-guest.preset 'disable *'
check_eq "package, the VM guest's 'disable *' at 00-: the image's policy wins, nothing enabled" "" \
        "$(enabled "$ROOT")"

# The image builder, on that root and on a merged-/usr copy of it.
. "$CVM_SRCDIR/tests/vm/debian/mkguest.sh"
deb_enable_cvm_units "$ROOT" 2>/dev/null
check_eq "image builder (deb_enable_cvm_units): the four are enabled" "$WANT" "$(enabled "$ROOT")"

merged=$tmp/merged
first_install merged-src 00-cvm-guest.preset 'disable *'
mkdir -p "$merged/usr"
cp -a "$ROOT/etc" "$merged/"
cp -a "$ROOT/lib" "$merged/usr/"
ln -s usr/lib "$merged/lib"
deb_enable_cvm_units "$merged" 2>/dev/null
check_eq "image builder, merged /usr: the four are enabled" "$WANT" "$(enabled "$merged")"
check_done
