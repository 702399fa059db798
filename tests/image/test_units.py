"""The systemd units: valid, hardened as promised (fast; part of the normal suite)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

TOP = Path(__file__).resolve().parents[2]
SERVICE = TOP / "systemd" / "selfdata.service"
IMAGE_UNITS = sorted((TOP / "image" / "rootfs" / "etc" / "systemd" / "system").glob("*.service"))

needs_analyze = pytest.mark.skipif(
    shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed"
)


def _runnable_copy(unit: Path, tmp_path: Path) -> Path:
    """The unit with its programs replaced by /bin/true: verify checks those exist."""
    text = re.sub(r"^(Exec\w+=[-+!@:]*)(/\S+)", r"\1/bin/true", unit.read_text(), flags=re.M)
    copy = tmp_path / unit.name
    copy.write_text(text)
    return copy


@needs_analyze
@pytest.mark.parametrize("unit", [SERVICE, *IMAGE_UNITS], ids=lambda p: p.name)
def test_unit_verifies(unit: Path, tmp_path: Path) -> None:
    done = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", str(_runnable_copy(unit, tmp_path))],
        check=False,
        capture_output=True,
        text=True,
    )
    own = [line for line in done.stderr.splitlines() if unit.name in line]
    assert done.returncode == 0, done.stderr
    assert own == [], "\n".join(own)


@needs_analyze
def test_service_exposure_is_ok_or_better(tmp_path: Path) -> None:
    done = subprocess.run(
        [
            "systemd-analyze",
            "security",
            "--offline=true",
            "--no-pager",
            str(_runnable_copy(SERVICE, tmp_path)),
        ],
        check=False,
        capture_output=True,
        text=True,
    )
    if "--offline" in done.stderr:
        pytest.skip("this systemd-analyze has no --offline")
    match = re.search(r"Overall exposure level for \S+: ([\d.]+) (\w+)", done.stdout)
    assert match, done.stdout + done.stderr
    assert float(match[1]) <= 2.5, match[0]
    assert match[2] in ("PERFECT", "SAFE", "OK")


def _directives(unit: Path) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for line in unit.read_text().splitlines():
        if "=" in line and not line.startswith(("#", "[")):
            key, _, value = line.partition("=")
            found.setdefault(key.strip(), []).append(value.strip())
    return found


def test_service_promises() -> None:
    d = _directives(SERVICE)
    assert d["Type"] == ["notify"]
    assert d["User"] == ["selfdata"]
    assert d["StateDirectory"] == ["selfdata"]
    assert d["Restart"] == ["on-failure"]
    assert "WatchdogSec" in d
    assert d["CapabilityBoundingSet"] == ["CAP_NET_BIND_SERVICE"]
    assert d["AmbientCapabilities"] == ["CAP_NET_BIND_SERVICE"]
    for key in ("NoNewPrivileges", "ProtectHome", "PrivateTmp"):
        assert d[key] == ["yes"], key
    assert d["ProtectSystem"] == ["strict"]
    assert "@system-service" in d["SystemCallFilter"]
    assert "time-sync.target" in " ".join(d["After"])
    assert "--data-dir /var/lib/selfdata serve" in d["ExecStart"][0]


def test_sysusers_and_tmpfiles_agree_with_the_service() -> None:
    sysusers = (TOP / "systemd" / "selfdata.sysusers").read_text()
    assert re.search(r"^u selfdata\b", sysusers, flags=re.M)
    tmpfiles = (TOP / "systemd" / "selfdata.tmpfiles").read_text()
    assert re.search(r"^d /var/lib/selfdata 0750 selfdata selfdata\b", tmpfiles, flags=re.M)
    assert _directives(SERVICE)["StateDirectoryMode"] == ["0750"]
