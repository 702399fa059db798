#!/usr/bin/env bash
# Build the selfdata SD card image for the Raspberry Pi (3B+, 4, 5, Zero 2 W) from
# Debian trixie arm64, on an x86-64 Debian machine (qemu-user + binfmt run the arm64
# maintainer scripts). Called by `make image`.
#
#   image/mkimage.sh DEB OUTDIR
#     -> OUTDIR/selfdata-<version>-arm64.img.xz and its .sha256
#
# Steps, each a well-known tool:
#   1. mmdebstrap: the root file system, with DEB and its dependencies from Debian
#      (image/packages.txt), the files of image/rootfs/, then image/customize.sh;
#   2. mkfs.vfat + mcopy: the firmware partition (RASPIFIRM) from /boot/firmware;
#   3. mkfs.ext4 -d: the root partition (RASPIROOT), no loop device or mount needed;
#   4. sfdisk + dd: the MBR disk image; xz + sha256sum.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
deb=$(realpath "${1:?usage: mkimage.sh DEB OUTDIR}")
out=$(realpath -m "${2:?usage: mkimage.sh DEB OUTDIR}")
# Debian's tools, not a pyenv or venv python that may come first in PATH.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C.UTF-8

version=$(dpkg-deb --field "$deb" Version)
name=selfdata-$version-arm64
work=$out/work
MIRROR=${SELFDATA_MIRROR:-http://deb.debian.org/debian}
SECURITY=${SELFDATA_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
FIRM_MIB=256          # FAT firmware partition: firmware, kernel, initrd, settings file
START_MIB=4           # first partition at 4 MiB (erase-block aligned)

started=$SECONDS
log() { printf '[mkimage %4ds] %s\n' $((SECONDS - started)) "$*" >&2; }

rm -rf "$work"
mkdir -p "$work"
root=$work/rootfs

log "root file system: mmdebstrap trixie arm64 (+ $(basename "$deb"))"
packages=$(sed -e 's/#.*//' "$here/packages.txt" | xargs | tr ' ' ',')
# - eatmydata: no fsync while dpkg unpacks (the build, not the image, is at stake);
# - update-initramfs is a no-op until customize.sh runs it once, instead of after
#   the kernel and again at every trigger (it is the slowest step under emulation).
mmdebstrap \
    --variant=apt --architectures=arm64 --components=main,non-free-firmware \
    --hook-dir=/usr/share/mmdebstrap/hooks/eatmydata \
    --hook-dir=/usr/share/mmdebstrap/hooks/file-mirror-automount \
    --dpkgopt="$here/dpkg-excludes.cfg" \
    --aptopt='APT::Install-Recommends "false"' \
    --essential-hook='chroot "$1" dpkg-divert --quiet --local --rename --add /usr/sbin/update-initramfs' \
    --essential-hook='printf "#!/bin/sh\nexit 0\n" > "$1/usr/sbin/update-initramfs"; chmod 755 "$1/usr/sbin/update-initramfs"' \
    --include="$packages" --include="$deb" \
    --customize-hook="sync-in '$here/rootfs' /" \
    --customize-hook="'$here/customize.sh' \"\$1\"" \
    --format=directory \
    trixie "$root" \
    "deb $MIRROR trixie main non-free-firmware" \
    "deb $MIRROR trixie-updates main non-free-firmware" \
    "deb $SECURITY trixie-security main non-free-firmware"

log "firmware partition (FAT32, RASPIFIRM, ${FIRM_MIB} MiB)"
mkfs.vfat -F 32 -n RASPIFIRM -C "$work/firm.img" $((FIRM_MIB * 1024)) >/dev/null
mcopy -s -p -m -i "$work/firm.img" "$root"/boot/firmware/* ::/
find "$root/boot/firmware" -mindepth 1 -delete

log "root partition (ext4, RASPIROOT)"
used_mib=$(du -s --block-size=1M "$root" | cut -f1)
root_mib=$((used_mib * 12 / 10 + 256))   # room for the first start; grown to the card at first boot
mkfs.ext4 -q -L RASPIROOT -d "$root" "$work/root.img" "${root_mib}M"

log "disk image (MBR: ${FIRM_MIB} MiB FAT + ${root_mib} MiB ext4)"
img=$work/$name.img
truncate -s $(((START_MIB + FIRM_MIB + root_mib) * 1024 * 1024)) "$img"
sfdisk --quiet "$img" <<EOF
label: dos
unit: sectors
start=$((START_MIB * 2048)), size=$((FIRM_MIB * 2048)), type=c, bootable
start=$(((START_MIB + FIRM_MIB) * 2048)), type=83
EOF
dd if="$work/firm.img" of="$img" bs=1M seek=$START_MIB conv=notrunc,sparse status=none
dd if="$work/root.img" of="$img" bs=1M seek=$((START_MIB + FIRM_MIB)) conv=notrunc,sparse status=none
rm "$work/firm.img" "$work/root.img"

log "compress (xz)"
xz --threads=0 -${SELFDATA_XZ_LEVEL:-6} --stdout "$img" > "$out/$name.img.xz"
(cd "$out" && sha256sum "$name.img.xz" > "$name.img.xz.sha256")
rm -rf "$root" "$img"
log "done: $out/$name.img.xz ($(du -h "$out/$name.img.xz" | cut -f1))"
