"""The Debian package on a plain Debian trixie amd64 system (`make image-test`).

Runs only when SELFDATA_DEB names a built package and we are root: mmdebstrap makes a
trixie amd64 root file system with the package and its dependencies from Debian
(the "box on any machine" case), then the maintainer scripts go through
reinstall, remove and purge in that chroot.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

DEB = os.environ.get("SELFDATA_DEB", "")
if not DEB:
    pytest.skip("SELFDATA_DEB is not set (make image-test)", allow_module_level=True)
if os.geteuid() != 0:
    pytest.skip("the package test needs root (chroot)", allow_module_level=True)

MIRROR = os.environ.get("SELFDATA_MIRROR", "http://deb.debian.org/debian")


def _deb_field(name: str) -> str:
    return subprocess.run(
        ["dpkg-deb", "--field", DEB, name], capture_output=True, text=True, check=True
    ).stdout.strip()


# Where Debian's package is not python3-<the distribution's name>.
_DEBIAN_NAMES = {
    "pynacl": "python3-nacl",
    "pyserial": "python3-serial",
    "pyserial-asyncio": "python3-serial-asyncio",
    "systemd-python": "python3-systemd",
}


def test_every_python_requirement_is_a_debian_dependency() -> None:
    """dh_python3 silently drops a requirement it cannot map: the box would not start."""
    project = tomllib.loads((Path(__file__).parents[2] / "pyproject.toml").read_text())
    depends = {d.split()[0] for d in _deb_field("Depends").replace("|", ",").split(",")}
    for requirement in [*project["project"]["dependencies"], "systemd-python"]:
        name = re.split(r"[<>=!~; \[]", requirement, maxsplit=1)[0].lower()
        package = _DEBIAN_NAMES.get(name, f"python3-{name}")
        assert package in depends, f"{requirement}: no {package} in Depends"


def test_package_metadata() -> None:
    assert _deb_field("Architecture") == "all"
    files = subprocess.run(
        ["dpkg-deb", "--contents", DEB], capture_output=True, text=True, check=True
    ).stdout
    for path in (
        "./usr/bin/selfdata",
        "./usr/lib/systemd/system/selfdata.service",
        "./usr/lib/sysusers.d/selfdata.conf",
        "./usr/lib/tmpfiles.d/selfdata.conf",
    ):
        assert path in files


def test_lintian_reports_no_error() -> None:
    if shutil.which("lintian") is None:
        pytest.skip("lintian is not installed")
    done = subprocess.run(
        ["lintian", "--fail-on", "error", DEB], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.fixture(scope="module")
def chroot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    root = tmp_path_factory.mktemp("trixie") / "root"
    deb = Path(DEB).resolve()
    subprocess.run(
        [
            "mmdebstrap",
            "--quiet",
            "--variant=apt",
            "--architectures=amd64",
            "--hook-dir=/usr/share/mmdebstrap/hooks/eatmydata",
            "--hook-dir=/usr/share/mmdebstrap/hooks/file-mirror-automount",
            f"--include={deb}",
            "--format=directory",
            "trixie",
            str(root),
            MIRROR,
        ],
        check=True,
        timeout=1200,
    )
    shutil.copy(deb, root / "tmp" / "selfdata.deb")
    mounts = []
    try:
        for kind, target in (("proc", "proc"), ("sysfs", "sys")):
            subprocess.run(["mount", "-t", kind, kind, str(root / target)], check=True)
            mounts.append(root / target)
        subprocess.run(["mount", "--bind", "/dev", str(root / "dev")], check=True)
        mounts.append(root / "dev")
        yield root
    finally:
        for mount in reversed(mounts):
            subprocess.run(["umount", "--lazy", str(mount)], check=False)


def sh(root: Path, command: str) -> str:
    done = subprocess.run(
        ["chroot", str(root), "sh", "-ec", command],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert done.returncode == 0, f"{command}:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def test_installed_from_debian_packages_only(chroot: Path) -> None:
    assert "selfdata" in sh(chroot, "selfdata --version")
    assert list((chroot / "usr/local/lib").glob("python3*/dist-packages/*")) == []  # no pip
    assert sh(chroot, "dpkg-query -W -f '${Status}' selfdata") == "install ok installed"
    assert sh(chroot, "getent passwd selfdata").split(":")[5] == "/var/lib/selfdata"
    assert sh(chroot, "stat -c '%a %U %G' /var/lib/selfdata").split() == [
        "750",
        "selfdata",
        "selfdata",
    ]
    assert (chroot / "etc/systemd/system/multi-user.target.wants/selfdata.service").is_symlink()
    assert sh(chroot, "selfdata --help").count("status") >= 1


def test_reinstall_remove_keeps_data_purge_clears_it(chroot: Path) -> None:
    sh(chroot, "dpkg -i /tmp/selfdata.deb")  # upgrade path: configure with the old version
    sh(chroot, "echo owner-data > /var/lib/selfdata/keep-me")
    sh(chroot, "dpkg --remove selfdata")
    assert (chroot / "var/lib/selfdata/keep-me").exists()
    assert not (chroot / "usr/bin/selfdata").exists()
    sh(chroot, "dpkg -i /tmp/selfdata.deb")
    assert (chroot / "var/lib/selfdata/keep-me").exists()
    sh(chroot, "dpkg --purge selfdata")
    assert not (chroot / "var/lib/selfdata").exists()
    assert not (chroot / "etc/systemd/system/multi-user.target.wants/selfdata.service").exists()
    sh(chroot, "getent passwd selfdata")  # system users stay, as Debian does
    sh(chroot, "dpkg -i /tmp/selfdata.deb")  # and a later install finds it again
