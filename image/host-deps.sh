#!/usr/bin/env bash
# Install what `make deb`, `make image` and `make image-test` need on the build
# machine (Debian 12 or later, x86-64 or arm64, as root or with sudo), and make sure
# the kernel runs arm64 binaries through qemu-user (binfmt_misc).
#   image/host-deps.sh deb|image|test
set -euo pipefail
export PATH=/usr/sbin:/usr/bin:/sbin:/bin

deb=(debhelper dh-python pybuild-plugin-pyproject python3-all python3-setuptools lintian)
image=(mmdebstrap qemu-user-static binfmt-support arch-test eatmydata dosfstools mtools
       e2fsprogs fdisk xz-utils)
test=(qemu-system-arm openssh-client e2fsprogs mtools fdisk xz-utils python3-pytest
      "${image[@]}")

case "${1:-}" in
deb) want=("${deb[@]}") ;;
image) want=("${deb[@]}" "${image[@]}") ;;
test) want=("${deb[@]}" "${test[@]}") ;;
*) echo "usage: $0 deb|image|test" >&2; exit 2 ;;
esac

sudo=""
[ "$(id -u)" -eq 0 ] || sudo=sudo
missing=()
for pkg in "${want[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "host-deps: apt-get install ${missing[*]}" >&2
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
        "${missing[@]}" >/dev/null
fi

if [ "$1" != deb ] && [ "$(dpkg --print-architecture)" != arm64 ]; then
    # Containers and minimal VMs start without binfmt_misc mounted or registered.
    if [ ! -e /proc/sys/fs/binfmt_misc/register ]; then
        $sudo mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
    fi
    if [ ! -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ]; then
        $sudo update-binfmts --import qemu-aarch64 2>/dev/null || true
        $sudo update-binfmts --enable qemu-aarch64
    fi
    arch-test arm64 >/dev/null || { echo "host-deps: cannot run arm64 binaries (binfmt)" >&2; exit 1; }
fi
