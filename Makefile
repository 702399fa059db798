# selfdata: the Debian package and the Raspberry Pi image (docs/appliance.md).
#
#   make deb         image/build/selfdata_<version>_all.deb, lintian-clean
#   make image       image/build/selfdata-<version>-arm64.img.xz (+ .sha256)
#   make image-test  boot that image in QEMU and check it as a user would (and install,
#                    upgrade, remove and purge the .deb on Debian trixie amd64)
#   make clean       remove image/build
#
# Each target installs its own build-machine prerequisites (image/host-deps.sh).
# Development and the test suite: ./dev (see README.md).

VERSION := $(shell sed -n 's/^__version__ = "\(.*\)"$$/\1/p' daemon/__init__.py)
BUILD := image/build
DEB := $(BUILD)/selfdata_$(VERSION)_all.deb
IMAGE := $(BUILD)/selfdata-$(VERSION)-arm64.img.xz
# pytest: the project's venv when ./dev made one, else Debian's python3-pytest (the
# image tests need nothing else; the suite's conftest and settings are left out).
PYTEST := $(if $(wildcard .venv/bin/python),.venv/bin/python -m pytest,\
	/usr/bin/python3 -m pytest -p no:cacheprovider -c /dev/null --rootdir=. --confcutdir=tests/image)

.PHONY: deb image image-test clean

deb:
	image/host-deps.sh deb
	image/mkdeb.sh $(BUILD)

image: deb
	image/host-deps.sh image
	image/mkimage.sh $(DEB) $(BUILD)

# Uses the image and package already built, and builds them when missing.
image-test:
	image/host-deps.sh test
	test -f $(DEB) || $(MAKE) deb
	test -f $(IMAGE) || $(MAKE) image
	SELFDATA_IMAGE=$(IMAGE) SELFDATA_DEB=$(DEB) $(PYTEST) -v -rs tests/image; \
	status=$$?; cat $(BUILD)/boot-test-times.txt 2>/dev/null; exit $$status

clean:
	rm -rf $(BUILD)
