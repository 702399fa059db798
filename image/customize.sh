#!/usr/bin/env bash
# mmdebstrap customize hook of image/mkimage.sh: the root file system is complete
# (packages installed, image/rootfs/ copied in); make it a Raspberry Pi appliance.
#   image/customize.sh ROOTDIR
set -euo pipefail
root=${1:?usage: customize.sh ROOTDIR}
in_root() { chroot "$root" "$@"; }

# Boot: the kernel command line and consoles raspi-firmware writes to cmdline.txt.
# Root by label (the image's partition names); logs on HDMI (tty0, last = main) and
# the UART of Pi 3/4/Zero 2 W (ttyS1).
sed -i -e 's/^#\?ROOTPART=.*/ROOTPART="LABEL=RASPIROOT"/' \
    -e 's/^#\?CONSOLES=.*/CONSOLES="ttyS1,115200 tty0"/' "$root/etc/default/raspi-firmware"

# The initramfs, once (mkimage.sh kept update-initramfs a no-op until now); its
# raspi-firmware hook copies kernel, initrd and device trees to /boot/firmware and
# writes config.txt and cmdline.txt.
rm "$root/usr/sbin/update-initramfs"
in_root dpkg-divert --quiet --local --rename --remove /usr/sbin/update-initramfs
in_root update-initramfs -c -k all

# Services: networkd (wired DHCP; Wi-Fi once selfdata.toml configures it) and the
# first-boot unit. resolved, timesyncd, avahi, ssh and selfdata enable themselves.
in_root systemctl enable systemd-networkd.service selfdata-firstboot.service
in_root systemctl disable e2scrub_all.timer e2scrub_reap.service 2>/dev/null || true

# Made per device at first boot, never shipped: ssh host keys, machine id.
rm -f "$root"/etc/ssh/ssh_host_*
: > "$root/etc/machine-id"
rm -f "$root/var/lib/dbus/machine-id"

# Defaults a settings file may change (docs/appliance.md).
echo "LANG=C.UTF-8" > "$root/etc/default/locale"
ln -sf /usr/share/zoneinfo/Etc/UTC "$root/etc/localtime"
echo "Etc/UTC" > "$root/etc/timezone"

# Where a user may put the settings file: a commented template on the FAT partition.
install -m 644 "$root/usr/share/selfdata-image/selfdata.toml" "$root/boot/firmware/selfdata.toml"

# No password anywhere: root stays locked (only the first-boot admin with ssh keys).
in_root passwd --lock root >/dev/null

# Leave no build traces.
rm -rf "$root"/var/log/journal "$root"/var/cache/debconf/*-old "$root"/var/lib/dpkg/*-old
find "$root/var/log" -type f -delete
find "$root/tmp" "$root/var/tmp" -mindepth 1 -delete
