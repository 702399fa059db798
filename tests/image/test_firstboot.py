"""The image's first-boot settings file: parsing and what it writes (fast, no image)."""

from __future__ import annotations

import importlib.machinery
import importlib.util
import os
import sys
import tomllib
from pathlib import Path
from types import ModuleType

import pytest

TOP = Path(__file__).resolve().parents[2]
SCRIPT = TOP / "image" / "rootfs" / "usr" / "libexec" / "selfdata-image"
TEMPLATE = TOP / "image" / "rootfs" / "usr" / "share" / "selfdata-image" / "selfdata.toml"
KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIIeXbq7Sm1dO0NO5ZEXGyvkqnSY1Jd0q7LzLk7Wm1bXa me@laptop"


def _load() -> ModuleType:
    loader = importlib.machinery.SourceFileLoader("selfdata_image", str(SCRIPT))
    spec = importlib.util.spec_from_loader("selfdata_image", loader)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["selfdata_image"] = module  # dataclasses look their module up
    loader.exec_module(module)
    return module


fb = _load()


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A tiny target system: the files first boot reads."""
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc/hosts").write_text("127.0.0.1\tlocalhost\n127.0.1.1\tselfdata\n")
    (tmp_path / "etc/passwd").write_text("root:x:0:0:root:/root:/bin/bash\n")
    (tmp_path / "etc/group").write_text("root:x:0:\nsudo:x:27:\nselfdata:x:990:\n")
    zone = tmp_path / "usr/share/zoneinfo/Europe/Paris"
    zone.parent.mkdir(parents=True)
    zone.write_bytes(b"TZif")
    supported = tmp_path / "usr/share/i18n/SUPPORTED"
    supported.parent.mkdir(parents=True)
    supported.write_text("en_US.UTF-8 UTF-8\nfr_FR.UTF-8 UTF-8\nfr_FR ISO-8859-1\n")
    return tmp_path


FULL = f"""
hostname = "Maison"
timezone = "Europe/Paris"
locale = "fr_FR.UTF-8"
[ssh]
user = "alice"
authorized_keys = ["{KEY}"]
[wifi]
country = "fr"
ssid = "IEEE"
passphrase = "password"
"""


def test_template_is_all_comments_and_documents_every_key(root: Path) -> None:
    text = TEMPLATE.read_text()
    assert tomllib.loads(text) == {}
    uncommented = "\n".join(
        line.removeprefix("#")
        for line in text.splitlines()
        # settings are "#key = ..." and "#  continued"; prose is "# Text"
        if line.startswith("#") and (line[1:2] != " " or line.startswith("#  "))
    )
    uncommented = uncommented.replace('"ssh-ed25519 AAAA... you@laptop"', f'"{KEY}"')
    parsed = fb.parse(uncommented, root)
    assert parsed.unknown == ()
    assert parsed.wifi is not None
    assert parsed.authorized_keys == (KEY,)


def test_parse_full(root: Path) -> None:
    s = fb.parse(FULL, root)
    assert s.hostname == "maison"
    assert s.timezone == "Europe/Paris"
    assert s.locale == "fr_FR.UTF-8"
    assert s.user == "alice"
    assert s.authorized_keys == (KEY,)
    assert s.wifi == fb.Wifi(ssid="IEEE", country="FR", passphrase="password")


def test_defaults_and_unknown_keys(root: Path) -> None:
    s = fb.parse(
        f'colour = "blue"\n[ssh]\nauthorized_keys = """\n{KEY}\n"""\nshell = "zsh"\n', root
    )
    assert s.user == "admin"
    assert s.authorized_keys == (KEY,)
    assert s.unknown == ("colour", "ssh.shell")


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("hostname = 'bad_name!'", "hostname"),
        ("hostname = '-x'", "hostname"),
        ("hostname = 3", "hostname"),
        ("timezone = 'Mars/Olympus'", "timezone"),
        ("timezone = '../../etc/passwd'", "timezone"),
        ("locale = 'xx_YY.UTF-8'", "locale"),
        ("[ssh]\nuser = 'root'\n", "ssh.user"),
        ("[ssh]\nauthorized_keys = ['not a key']\n", "ssh.authorized_keys"),
        ("ssh = 'x'", "ssh"),
        ("[wifi]\nssid = 'x'\n", "wifi.country"),
        ("[wifi]\ncountry = 'FR'\n", "wifi.ssid"),
        ("[wifi]\ncountry = 'FR'\nssid = 'x'\npassphrase = 'short'\n", "wifi.passphrase"),
        ("hostname = 'unclosed", "TOML"),
    ],
)
def test_bad_settings_name_the_key(root: Path, text: str, names: str) -> None:
    with pytest.raises(fb.ConfigError, match=names):
        fb.parse(text, root)


def test_wpa_psk_is_derived_not_stored() -> None:
    conf = fb.wpa_supplicant_conf(fb.Wifi(ssid="IEEE", country="FR", passphrase="password"))
    # IEEE 802.11i test vector: passphrase "password", SSID "IEEE".
    assert "psk=f42c6fc52df0ebef9ebb4b90b38a5f902e83fe1b135a70e23aed762e9710a12e" in conf
    assert "password" not in conf
    assert "country=FR" in conf
    assert f"ssid={b'IEEE'.hex()}" in conf
    open_net = fb.wpa_supplicant_conf(fb.Wifi(ssid="cafe", country="FR", hidden=True))
    assert "key_mgmt=NONE" in open_net
    assert "scan_ssid=1" in open_net


def test_apply_writes_the_system_files(root: Path) -> None:
    commands: list[list[str]] = []
    fb.apply(fb.parse(FULL, root), root, commands.append)
    assert (root / "etc/hostname").read_text() == "maison\n"
    assert "127.0.1.1\tmaison" in (root / "etc/hosts").read_text().splitlines()
    assert "127.0.1.1\tselfdata" not in (root / "etc/hosts").read_text()
    assert (root / "etc/localtime").readlink() == Path("/usr/share/zoneinfo/Europe/Paris")
    assert (root / "etc/default/locale").read_text() == "LANG=fr_FR.UTF-8\n"
    assert (root / "etc/locale.gen").read_text() == "fr_FR.UTF-8 UTF-8\n"
    wpa = root / "etc/wpa_supplicant/wpa_supplicant-wlan0.conf"
    assert wpa.stat().st_mode & 0o777 == 0o600
    sudoers = root / "etc/sudoers.d/selfdata-admin"
    assert "alice ALL=(ALL:ALL) NOPASSWD: ALL" in sudoers.read_text()
    assert sudoers.stat().st_mode & 0o777 == 0o440
    keys = root / "home/alice/.ssh/authorized_keys"
    assert keys.read_text() == KEY + "\n"
    assert keys.stat().st_mode & 0o777 == 0o600
    assert ["hostname", "maison"] in commands
    assert ["locale-gen"] in commands
    assert [
        "useradd",
        "--create-home",
        "--shell",
        "/bin/bash",
        "--groups",
        "sudo,selfdata",
        "alice",
    ] in commands
    assert ["systemctl", "enable", "wpa_supplicant@wlan0.service"] in commands


def test_apply_twice_adds_keys_once_and_user_once(root: Path) -> None:
    settings = fb.parse(f"[ssh]\nauthorized_keys = ['{KEY}']\n", root)
    fb.apply(settings, root, lambda _cmd: None)
    with (root / "etc/passwd").open("a") as passwd:
        passwd.write("admin:x:1000:1000::/home/admin:/bin/bash\n")
    commands: list[list[str]] = []
    fb.apply(settings, root, commands.append)
    assert (root / "home/admin/.ssh/authorized_keys").read_text() == KEY + "\n"
    assert not any(cmd[0] == "useradd" for cmd in commands)


def test_no_keys_no_user(root: Path) -> None:
    commands: list[list[str]] = []
    fb.apply(fb.parse('timezone = "Europe/Paris"', root), root, commands.append)
    assert commands == []
    assert not (root / "etc/sudoers.d").exists()


def test_kept_copy_has_no_wifi_passphrase() -> None:
    kept = fb.redacted(FULL)
    assert "password" not in kept
    assert tomllib.loads(kept)["wifi"]["ssid"] == "IEEE"


def test_command_line_without_a_command_prints_usage(capsys: pytest.CaptureFixture[str]) -> None:
    umask = os.umask(0o022)
    try:
        assert fb.main(["selfdata-image"]) == 2
    finally:
        os.umask(umask)
    assert "firstboot" in capsys.readouterr().err
