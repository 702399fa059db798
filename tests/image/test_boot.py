"""The SD image boots and comes up as its owner finds it (`make image-test`).

Runs only when SELFDATA_IMAGE names a built image (.img.xz): it boots it in QEMU
(software emulation, several minutes), with a settings file on the FAT partition
holding a test ssh key, checks it over ssh and HTTPS, then cuts the power during an
import and boots again. The tests share one guest and run in file order.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import re
import ssl
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from .guest import Guest, GuestError, make_stick, prepare_card, quote

IMAGE = os.environ.get("SELFDATA_IMAGE", "")
if not IMAGE:
    pytest.skip("SELFDATA_IMAGE is not set (make image-test)", allow_module_level=True)

BOOT_TIMEOUT = float(os.environ.get("SELFDATA_BOOT_TIMEOUT", "900"))
HOSTNAME = "selfdata-test"
PASSPHRASE = "a test passphrase for the boot test"
TIMINGS: dict[str, float] = {}


@pytest.fixture(scope="module")
def guest(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Guest]:
    work = tmp_path_factory.mktemp("boot")
    key = work / "id_test"
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "boot-test", "-f", str(key)],
        check=True,
    )
    settings = (
        f'hostname = "{HOSTNAME}"\n'
        'timezone = "Europe/Paris"\n'
        "[ssh]\n"
        f'authorized_keys = ["{key.with_suffix(".pub").read_text().strip()}"]\n'
    )
    started = time.monotonic()
    card = prepare_card(Path(IMAGE), work, settings)
    TIMINGS["prepare card (xz -d, settings)"] = time.monotonic() - started
    vm = Guest(card=card, workdir=work, ssh_key=key)
    vm.start()
    try:
        TIMINGS["first boot: power on to ssh login"] = vm.wait_ssh(BOOT_TIMEOUT)
        yield vm
    finally:
        vm.shutdown()
        report = "\n".join(f"{v:7.1f} s  {k}" for k, v in TIMINGS.items())
        (Path(IMAGE).parent / "boot-test-times.txt").write_text(report + "\n")
        print("\n" + report)


def test_boot_reaches_multi_user_with_no_failed_unit(guest: Guest) -> None:
    started = time.monotonic()
    state = guest.ssh(
        "systemctl is-system-running --wait", timeout=BOOT_TIMEOUT, check=False
    ).stdout.strip()
    TIMINGS["first boot: ssh login to boot finished"] = time.monotonic() - started
    if state != "running":
        failed = guest.ssh(
            "systemctl --failed --no-legend --plain; "
            "sudo journalctl -b --no-pager -p warning | tail -60",
            check=False,
        )
        raise guest.fail(f"system state {state!r}, failed units and warnings:\n{failed.stdout}")
    assert guest.ssh("systemctl is-active multi-user.target").stdout.strip() == "active"


def test_first_boot_applied_the_settings_file(guest: Guest) -> None:
    assert guest.ssh("hostname").stdout.strip() == HOSTNAME
    assert guest.ssh("readlink /etc/localtime").stdout.strip().endswith("Europe/Paris")
    boot = guest.ssh("sudo ls /boot/firmware").stdout.split()
    assert "selfdata.toml.applied" in boot
    assert "selfdata.toml" not in boot
    groups = guest.ssh("id -nG").stdout.split()
    assert {"sudo", "selfdata"} <= set(groups)


def test_first_boot_made_host_keys_and_grew_root(guest: Guest) -> None:
    keys = guest.ssh("ls /etc/ssh/").stdout.split()
    assert "ssh_host_ed25519_key.pub" in keys
    root_bytes = int(guest.ssh("findmnt --noheadings --bytes --output SIZE /").stdout)
    # The card is 1 GiB larger than the image: the root file system took it.
    assert root_bytes > guest.card.image_bytes - 300 * 1024**2 + 900 * 1024**2, root_bytes


def test_no_password_swap_in_zram_journal_in_ram(guest: Guest) -> None:
    with_password = guest.ssh("sudo awk -F: '$2 !~ /^[!*]/ {print $1}' /etc/shadow").stdout.split()
    assert with_password == []
    sshd = guest.ssh("sudo sshd -T").stdout
    assert "passwordauthentication no" in sshd
    swaps = guest.ssh("cat /proc/swaps").stdout.splitlines()[1:]
    assert [line.split()[0] for line in swaps] == ["/dev/zram0"]
    assert (
        guest.ssh("test -d /run/log/journal && ! test -d /var/log/journal", check=False).returncode
        == 0
    )


def test_selfdata_service_is_active(guest: Guest) -> None:
    assert guest.ssh("systemctl is-active selfdata.service").stdout.strip() == "active"
    show = guest.ssh("systemctl show selfdata.service -p User -p NRestarts -p Type").stdout
    assert "User=selfdata" in show
    assert "Type=notify" in show
    assert "NRestarts=0" in show


def test_selfdata_status_over_ssh(guest: Guest) -> None:
    human = guest.ssh("selfdata status").stdout
    assert "daemon:      running" in human, human
    status = json.loads(guest.ssh("selfdata status --json").stdout)
    assert status["daemon"] is True
    assert status["initialized"] is False
    assert status["fingerprint"]


def _https_get(guest: Guest, path: str = "/") -> tuple[int, str]:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    conn = http.client.HTTPSConnection("127.0.0.1", guest.ports[443], timeout=60, context=context)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        response.read()
        assert conn.sock is not None
        der = conn.sock.getpeercert(binary_form=True)
    finally:
        conn.close()
    assert der is not None
    fingerprint = ":".join(f"{b:02X}" for b in hashlib.sha256(der).digest())
    return response.status, fingerprint


def test_https_answers_with_the_announced_certificate(guest: Guest) -> None:
    status, fingerprint = _https_get(guest)
    assert status < 500
    announced = json.loads(guest.ssh("selfdata status --json").stdout)["fingerprint"]
    assert fingerprint == announced
    conn = http.client.HTTPConnection("127.0.0.1", guest.ports[80], timeout=60)
    try:
        conn.request("GET", "/")
        response = conn.getresponse()
        response.read()
    finally:
        conn.close()
    assert response.status in (301, 302, 307, 308)
    assert (response.getheader("Location") or "").startswith("https://")


def test_console_shows_url_and_setup_code(guest: Guest) -> None:
    issue = guest.ssh("cat /etc/issue.d/selfdata.issue").stdout  # world-readable, as /etc/issue
    code = guest.ssh("selfdata setup-code").stdout.strip()
    assert "https://" in issue
    assert code
    assert code in issue


def test_mdns_service_visible_in_the_guest(guest: Guest) -> None:
    def probe() -> bool:
        found = guest.ssh(
            "avahi-browse --resolve --parsable --terminate _selfdata._tcp", check=False
        )
        return any(line.startswith("=") for line in found.stdout.splitlines())

    guest.wait_for("_selfdata._tcp in avahi-browse", probe, timeout=120)
    resolved = guest.ssh(f"avahi-resolve --name {HOSTNAME}.local", check=False)
    assert resolved.returncode == 0, resolved.stderr


def test_service_hardening_score(guest: Guest) -> None:
    out = guest.ssh("systemd-analyze security selfdata.service --no-pager").stdout
    # "→ Overall exposure level for selfdata.service: 1.7 OK :-)"
    match = re.search(r"Overall exposure level for selfdata.service: ([\d.]+) (\w+)", out)
    assert match, out
    TIMINGS[f"(systemd-analyze security selfdata.service: {match[1]} {match[2]})"] = 0.0
    assert float(match[1]) <= 2.5
    assert match[2] in ("PERFECT", "SAFE", "OK")


def test_power_cut_during_an_import_then_fsck_passes_and_the_stick_unlocks(
    guest: Guest,
) -> None:
    guest.ssh(f"umask 077; printf %s {quote(PASSPHRASE)} > ~/passphrase")
    guest.ssh("selfdata init --passphrase-file ~/passphrase > ~/recovery-key", timeout=600)
    # Unattended unlock: the key file goes on a USB stick plugged in for the next boot.
    key_file = guest.ssh(
        "selfdata unattended enable /media/selfdatakey/selfdata.key -o - "
        "--passphrase-file ~/passphrase",
        timeout=600,
    ).stdout
    guest.sticks.append(
        make_stick(guest.workdir / "stick.img", "SELFDATAKEY", {"selfdata.key": key_file.encode()})
    )
    rows = 200_000
    guest.ssh(
        "python3 -c 'import json,sys\n"
        f"for i in range({rows}): "
        'sys.stdout.write(json.dumps({"id": f"r{i}", "n": i, "text": "power cut " * 8}) + "\\n")'
        "' > ~/rows.jsonl",
        timeout=600,
    )
    guest.ssh(
        "nohup selfdata import -t org.example.powercut --no-progress "
        "--passphrase-file ~/passphrase ~/rows.jsonl > ~/import.log 2>&1 &"
    )

    def importing() -> bool:
        wal = guest.ssh("sudo stat -c %s /var/lib/selfdata/selfdata.db-wal", check=False)
        return wal.returncode == 0 and int(wal.stdout) > 1024**2

    guest.wait_for("the import writing", importing, timeout=300, every=2)
    assert guest.ssh("pgrep -f 'selfdata import'", check=False).returncode == 0, (
        "import already done"
    )
    guest.power_cut()

    guest.start()
    TIMINGS["boot after power cut: power on to ssh login"] = guest.wait_ssh(BOOT_TIMEOUT)
    state = guest.ssh(
        "systemctl is-system-running --wait", timeout=BOOT_TIMEOUT, check=False
    ).stdout.strip()
    assert state == "running", guest.ssh(
        "systemctl --failed --no-legend --plain", check=False
    ).stdout

    # The box starts locked, as after any power cut, and finds its key on the stick.
    def unlocked() -> bool:
        status = guest.ssh("selfdata status --json", check=False)
        return status.returncode == 0 and json.loads(status.stdout)["locked"] is False

    started = time.monotonic()
    try:
        guest.wait_for("unattended unlock with the stick", unlocked, timeout=300, every=2)
    except GuestError as err:
        seen = guest.ssh(
            "findmnt /media/selfdatakey; selfdata unattended status; "
            "sudo journalctl -b -u selfdata --no-pager | tail -20",
            check=False,
        )
        raise GuestError(f"{err}\n--- in the guest ---\n{seen.stdout}{seen.stderr}") from None
    TIMINGS["boot after power cut: ssh login to unlocked by the stick"] = time.monotonic() - started
    fsck = guest.ssh("selfdata fsck --json", timeout=600, check=False)
    assert fsck.returncode == 0, fsck.stdout + fsck.stderr
    report = json.loads(fsck.stdout)
    assert report["ok"] is True
    assert report["deep"] is True  # unlocked: every record authenticated
    # An owner's lock holds even with the stick in, and the passphrase still opens it.
    guest.ssh("selfdata lock")
    time.sleep(10)
    assert json.loads(guest.ssh("selfdata status --json").stdout)["locked"] is True
    guest.ssh("selfdata unlock --passphrase-file ~/passphrase", timeout=600)
