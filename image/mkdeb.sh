#!/usr/bin/env bash
# Build selfdata_<version>_all.deb from this checkout with debhelper + dh-python, then
# lint it. Usage: image/mkdeb.sh OUTDIR   (called by `make deb`)
#
# The packaging lives in image/debian/; the unit and sysusers/tmpfiles snippets in
# systemd/. Both are copied with the sources into a scratch tree, so the checkout
# stays clean. Runtime dependencies come from pyproject.toml through dh_python3
# (${python3:Depends}): Debian packages only, never pip.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
out=$(realpath -m "${1:?usage: mkdeb.sh OUTDIR}")
version=$(sed -n 's/^__version__ = "\(.*\)"$/\1/p' "$top/daemon/__init__.py")
[ -n "$version" ] || { echo "mkdeb: no __version__ in daemon/__init__.py" >&2; exit 1; }

src=$out/deb/selfdata-$version
rm -rf "$out/deb"
mkdir -p "$src"
tar -C "$top" -c --exclude=__pycache__ --exclude='*.pyc' --exclude='*.egg-info' \
    pyproject.toml daemon connectors webui | tar -C "$src" -x
if [ -f "$top/README.md" ]; then cp "$top/README.md" "$src/"; else echo "selfdata" > "$src/README.md"; fi
cp -r "$top/image/debian" "$src/debian"
cp "$top/systemd/selfdata.service" "$src/debian/selfdata.service"
cp "$top/systemd/selfdata.sysusers" "$src/debian/selfdata.sysusers"
cp "$top/systemd/selfdata.tmpfiles" "$src/debian/selfdata.tmpfiles"

# The changelog carries the version of daemon/__init__.py and the date of the last
# commit (reproducible builds), or now when there is no commit yet.
epoch=$(git -C "$top" log -1 --format=%ct 2>/dev/null || date +%s)
cat > "$src/debian/changelog" <<CHANGELOG
selfdata ($version) unstable; urgency=medium

  * Built from the selfdata repository.

 -- selfdata developers <selfdata@example.org>  $(date -R -u -d "@$epoch")
CHANGELOG

# Debian's own python3 and tools, not a pyenv or venv one that may come first in PATH.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
export SOURCE_DATE_EPOCH=$epoch DEB_BUILD_OPTIONS="nocheck"
(cd "$src" && dpkg-buildpackage --build=all --no-sign -j1) > "$out/deb/build.log" 2>&1 ||
    { tail -40 "$out/deb/build.log" >&2; exit 1; }
deb=$out/selfdata_${version}_all.deb
mv "$out/deb/selfdata_${version}_all.deb" "$deb"

# lintian: errors fail the build; warnings are shown.
lintian --fail-on error "$deb"
echo "$deb"
