"""selfdata.mdns against a real python-zeroconf browser and a real avahi-daemon.

Isolation: the tests never see the machine's network. The ``lan`` fixture builds a
two-machine LAN out of two fresh network namespaces joined by a veth pair:

    box   10.77.0.2/24 (sd-box)  <-- veth -->  (sd-peer) 10.77.0.1/24   peer

The pytest thread itself moves into ``box`` (``unshare(CLONE_NEWNET)``), so the
advertiser's sockets, its ``ifaddr`` polling, ``ip addr`` changes and child processes
(dbus-daemon, avahi-daemon, avahi-browse) all live there; the browser's sockets are
opened inside ``peer``. At teardown the thread goes back (``setns``) and the namespaces
vanish with their last file descriptor. IPv6 is off in both namespaces (zeroconf then
listens on IPv4 only, and IPv6 DAD timing cannot make a test slow).

Needs root (CI runs the suite as root); without it the tests are skipped with that reason.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import os
import shutil
import subprocess
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import pytest
from selfdata import __version__
from selfdata.errors import InputError
from selfdata.mdns import (
    HTTPS_SERVICE,
    SELFDATA_SERVICE,
    Advertiser,
    Announcement,
    advertise,
)
from zeroconf import ServiceStateChange, Zeroconf
from zeroconf.asyncio import AsyncServiceBrowser, AsyncServiceInfo, AsyncZeroconf

from ..conftest import missing_tool

T = TypeVar("T")

FP = "3f9a1c" + "ab" * 29
FP_COLONS = ":".join(FP[i : i + 2].upper() for i in range(0, 64, 2))
BOX_IP = "10.77.0.2"
PEER_IP = "10.77.0.1"
PROBE = 0.3  # s: host-name probe where nobody owns the name (the answer would be instant)
_CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)


# --- network namespaces ----------------------------------------------------------------


def ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, text=True)


def _current_netns() -> int:
    return os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)


def _setns(fd: int) -> None:
    if _libc.setns(fd, _CLONE_NEWNET) != 0:
        raise OSError(ctypes.get_errno(), "setns(CLONE_NEWNET) failed")


def _new_netns() -> int:
    """Move this thread into a fresh namespace (lo down, IPv6 off); return its fd."""
    if _libc.unshare(_CLONE_NEWNET) != 0:
        reason = os.strerror(ctypes.get_errno())
        pytest.skip(f"unshare(CLONE_NEWNET) failed: {reason} (needs CAP_SYS_ADMIN)")
    for knob in ("all", "default"):  # /proc/sys/net is per namespace
        with contextlib.suppress(FileNotFoundError):
            Path(f"/proc/sys/net/ipv6/conf/{knob}/disable_ipv6").write_text("1")
    return _current_netns()


@contextlib.contextmanager
def _namespaces() -> Iterator[list[int]]:
    """Let the caller create namespaces; always return to the original one."""
    if os.geteuid() != 0:
        pytest.skip("needs root to create network namespaces (CI runs the suite as root)")
    if shutil.which("ip") is None:
        missing_tool("needs `ip` from iproute2 (tests/debian-packages.txt)")
    home = _current_netns()
    fds: list[int] = []
    try:
        yield fds
    finally:
        _setns(home)
        for fd in [home, *fds]:
            os.close(fd)


@dataclass
class Netns:
    fd: int

    @contextlib.contextmanager
    def entered(self) -> Iterator[None]:
        back = _current_netns()
        try:
            _setns(self.fd)
            yield
        finally:
            _setns(back)
            os.close(back)

    @property
    def path(self) -> str:
        return f"/proc/{os.getpid()}/fd/{self.fd}"


@dataclass
class Lan:
    box: Netns  # where the test thread is
    peer: Netns


@pytest.fixture
def lan() -> Iterator[Lan]:
    with _namespaces() as fds:
        peer = Netns(_new_netns())
        fds.append(peer.fd)
        ip("link", "set", "lo", "up")
        box = Netns(_new_netns())
        fds.append(box.fd)
        ip("link", "set", "lo", "up")
        ip("link", "add", "sd-box", "type", "veth", "peer", "name", "sd-peer", "netns", peer.path)
        ip("addr", "add", f"{BOX_IP}/24", "dev", "sd-box")
        ip("link", "set", "sd-box", "up")
        with peer.entered():
            ip("addr", "add", f"{PEER_IP}/24", "dev", "sd-peer")
            ip("link", "set", "sd-peer", "up")
        yield Lan(box, peer)


@pytest.fixture
def bare_netns() -> Iterator[None]:
    """One fresh namespace whose loopback is still down: no address at all."""
    with _namespaces() as fds:
        fds.append(_new_netns())
        yield


# --- browsing helpers --------------------------------------------------------------------


@pytest.fixture
async def browser(lan: Lan) -> AsyncIterator[AsyncZeroconf]:
    """A python-zeroconf instance on the peer machine."""
    with lan.peer.entered():
        azc = AsyncZeroconf(interfaces=[PEER_IP])  # the sockets are opened right here
    try:
        yield azc
    finally:
        await azc.async_close()


async def eventually(
    probe: Callable[[], Awaitable[T | None]], what: str, within: float = 10.0
) -> T:
    """Poll ``probe`` until it returns something truthy (never a fixed sleep)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        result = await probe()
        if result:
            return result
        if loop.time() > deadline:
            pytest.fail(f"timed out after {within} s waiting for {what}")
        await asyncio.sleep(0.05)


async def resolve(azc: AsyncZeroconf, name: str) -> AsyncServiceInfo | None:
    info = AsyncServiceInfo(name[name.index("._") + 1 :], name)
    if await info.async_request(azc.zeroconf, 500):
        return info
    return None


async def addresses_of(azc: AsyncZeroconf, name: str) -> set[str]:
    info = await resolve(azc, name)
    return set(info.parsed_addresses()) if info else set()


class Events:
    """Collects what an AsyncServiceBrowser reports."""

    def __init__(self) -> None:
        self.added: set[str] = set()
        self.removed: set[str] = set()

    def __call__(
        self,
        zeroconf: Zeroconf,
        service_type: str,
        name: str,
        state_change: ServiceStateChange,
    ) -> None:
        if state_change is ServiceStateChange.Added:
            self.added.add(name)
        elif state_change is ServiceStateChange.Removed:
            self.removed.add(name)


# --- announcement validation ---------------------------------------------------------------


def test_announcement_validates_and_normalizes() -> None:
    ann = Announcement(port=8443, fingerprint=FP_COLONS, version="1.2.3")
    assert ann.fingerprint_hex == FP
    assert ann.txt == {"version": "1.2.3", "path": "/", "api": "/api/v1", "fp": FP}
    for bad in (
        {"port": 0},
        {"fingerprint": "abcd"},
        {"fingerprint": "zz" * 32},
        {"version": ""},
        {"addresses": ["not-an-ip"]},
        {"addresses": "192.0.2.1"},
    ):
        fields: dict[str, object] = {"port": 8443, "fingerprint": FP, "version": "1"} | bad
        with pytest.raises(InputError):
            Announcement(**fields)  # type: ignore[arg-type]
    with pytest.raises(InputError):
        Advertiser(ann, poll_interval=0)


# --- against a python-zeroconf browser ------------------------------------------------------


async def test_browser_sees_services_txt_port_addresses_update_and_goodbye(
    browser: AsyncZeroconf,
) -> None:
    events = Events()
    sb = AsyncServiceBrowser(browser.zeroconf, [SELFDATA_SERVICE, HTTPS_SERVICE], handlers=[events])
    current = ["2001:db8::10", "192.0.2.10"]
    ann = Announcement(
        port=8443,
        fingerprint=FP_COLONS,
        version=__version__,
        hostname="sdbox.example.org",
        addresses=lambda: current,  # an address provider, polled
        interfaces=[BOX_IP],
    )
    adv = Advertiser(ann, poll_interval=0.1, host_probe_timeout=PROBE)
    try:
        await adv.start()
        assert adv.running
        assert adv.server == "sdbox.local."  # nobody else answers for it on this LAN
        assert adv.service_names == [
            "selfdata on sdbox._selfdata._tcp.local.",
            "selfdata on sdbox._https._tcp.local.",
        ]
        names = adv.service_names

        async def both_added() -> bool:
            return set(names) <= events.added

        await eventually(both_added, "the browser to report both services")
        for name in names:
            info = await resolve(browser, name)
            assert info is not None, name
            assert info.port == 8443
            assert info.server == "sdbox.local."
            assert info.decoded_properties == {
                "version": __version__,
                "path": "/",
                "api": "/api/v1",
                "fp": FP,
            }
            assert set(info.parsed_addresses()) == {"192.0.2.10", "2001:db8::10"}

        current[:] = ["192.0.2.10", "fd00:5e1f::1"]

        async def updated() -> bool:
            return await addresses_of(browser, names[1]) == {"192.0.2.10", "fd00:5e1f::1"}

        await eventually(updated, "the re-announced addresses")
    finally:
        await adv.stop()
    assert not adv.running
    assert adv.service_names == []

    async def both_removed() -> bool:
        return set(names) <= events.removed

    await eventually(both_removed, "the goodbye packets to remove both services")
    await sb.async_cancel()


async def test_reannounces_when_the_machine_address_changes(
    lan: Lan, browser: AsyncZeroconf, caplog: pytest.LogCaptureFixture
) -> None:
    """The production set-up: addresses found with ifaddr, zeroconf on every interface.

    A real ``ip addr`` change on the box is re-announced; as the new address is one
    zeroconf does not listen on yet, the advertiser restarts zeroconf. (In-place updates
    with pinned interfaces are covered by the address-provider test above.)
    """
    caplog.set_level(logging.INFO, logger="selfdata.mdns")
    ip("addr", "add", "192.0.2.10/24", "dev", "sd-box")
    ann = Announcement(port=8443, fingerprint=FP, version="1", hostname="sdbox")
    async with advertise(ann, poll_interval=0.1, host_probe_timeout=PROBE) as adv:
        assert adv.addresses == [BOX_IP, "192.0.2.10"]  # 127.0.0.1 is left out

        async def seen(expected: set[str]) -> bool:
            names = adv.service_names
            return bool(names) and await addresses_of(browser, names[0]) == expected

        await eventually(lambda: seen({BOX_IP, "192.0.2.10"}), "the first addresses")
        ip("addr", "add", "198.51.100.7/24", "dev", "sd-box")
        ip("addr", "del", "192.0.2.10/24", "dev", "sd-box")
        await eventually(lambda: seen({BOX_IP, "198.51.100.7"}), "the new address")
        assert adv.addresses == [BOX_IP, "198.51.100.7"]
        assert "restarting zeroconf" in caplog.text


async def test_second_box_with_the_same_name_gets_unique_names(
    lan: Lan, browser: AsyncZeroconf
) -> None:
    first = Announcement(
        port=443, fingerprint=FP, version="1", hostname="sdbox", addresses=[PEER_IP],
        interfaces=[PEER_IP],
    )  # fmt: skip
    second = Announcement(
        port=443, fingerprint="5e1f" + "cd" * 30, version="1", hostname="sdbox",
        addresses=[BOX_IP], interfaces=[BOX_IP],
    )  # fmt: skip
    with lan.peer.entered():  # the first box is the peer machine
        one = Advertiser(first, host_probe_timeout=PROBE)
        await one.start()
    try:
        async with advertise(second) as two:  # default probe: the name *is* answered
            assert one.server == "sdbox.local."
            assert two.server == "sdbox-5e1fcd.local."  # does not take the first one's
            assert two.service_names == [
                "selfdata on sdbox-2._selfdata._tcp.local.",
                "selfdata on sdbox-2._https._tcp.local.",
            ]

            async def both_resolve() -> bool:
                return await addresses_of(browser, one.service_names[0]) == {
                    PEER_IP
                } and await addresses_of(browser, two.service_names[0]) == {BOX_IP}

            await eventually(both_resolve, "both boxes to resolve to their own address")
    finally:
        await one.stop()


async def test_no_network_warns_once_keeps_running_and_recovers(
    bare_netns: None, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="selfdata.mdns")
    ann = Announcement(port=443, fingerprint=FP, version="1", hostname="sdbox")
    adv = Advertiser(ann, poll_interval=0.05, host_probe_timeout=PROBE)

    def warnings() -> list[str]:
        return [
            r.getMessage()
            for r in caplog.records
            if r.name == "selfdata.mdns" and r.levelno >= logging.WARNING
        ]

    try:
        await adv.start()  # no interface is up: must not raise
        assert not adv.running
        assert adv.service_names == []

        async def retried() -> bool:
            return sum("still failing" in r.getMessage() for r in caplog.records) >= 3

        await eventually(retried, "a few quiet retries")
        assert len(warnings()) == 1, warnings()
        assert warnings()[0].startswith("mDNS disabled: cannot use multicast DNS")

        ip("link", "set", "lo", "up", "multicast", "on")
        ip("addr", "add", "192.0.2.10/24", "dev", "lo")
        azc = AsyncZeroconf(interfaces=["127.0.0.1"])
        try:

            async def advertised() -> bool:
                names = adv.service_names
                return bool(names) and await addresses_of(azc, names[0]) == {"192.0.2.10"}

            await eventually(advertised, "the advertiser to recover once lo is up")
        finally:
            await azc.async_close()
        assert len(warnings()) == 1, warnings()
        assert any("works again" in r.getMessage() for r in caplog.records)
    finally:
        await adv.stop()


# --- against avahi-daemon ---------------------------------------------------------------------

_BUS_CONF = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path={socket}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_destination="*"/>
    <allow receive_sender="*"/>
  </policy>
</busconfig>
"""

_AVAHI_CONF = """[server]
host-name=sdbox
domain-name=local
use-ipv4=yes
use-ipv6=no
enable-dbus=yes
ratelimit-interval-usec=1000000
ratelimit-burst=1000
[wide-area]
enable-wide-area=no
[publish]
publish-hinfo=no
publish-workstation=no
"""

# avahi-daemon refuses to run twice (pid file in /run/avahi-daemon): give it a private /run
_AVAHI_CMD = (
    'mount -t tmpfs tmpfs /run && exec avahi-daemon -f "$1" '
    "--no-drop-root --no-chroot --no-rlimits --no-proc-title"
)


@dataclass
class Avahi:
    env: dict[str, str]
    log: Path

    async def run(self, *argv: str) -> str:
        proc = await asyncio.create_subprocess_exec(
            *argv, env=self.env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
        )
        out, _ = await proc.communicate()
        return out.decode()


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@pytest.fixture
def avahi(lan: Lan, tmp_path: Path) -> Iterator[Avahi]:
    """A private D-Bus system bus and an avahi-daemon owning ``sdbox.local`` on the box."""
    tools = ("avahi-daemon", "avahi-browse", "avahi-resolve", "dbus-daemon", "unshare")
    missing = [tool for tool in tools if shutil.which(tool) is None]
    if missing:
        missing_tool(f"not installed: {', '.join(missing)} (tests/debian-packages.txt)")
    socket = tmp_path / "bus.sock"
    (tmp_path / "bus.conf").write_text(_BUS_CONF.format(socket=socket))
    (tmp_path / "avahi.conf").write_text(_AVAHI_CONF)
    env = {**os.environ, "DBUS_SYSTEM_BUS_ADDRESS": f"unix:path={socket}"}
    log = tmp_path / "avahi.log"
    with contextlib.ExitStack() as stack:
        bus = subprocess.Popen(
            ["dbus-daemon", f"--config-file={tmp_path / 'bus.conf'}", "--nofork", "--nopidfile",
             "--print-address"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        stack.callback(_stop, bus)
        assert bus.stdout is not None
        with bus.stdout:
            bus.stdout.readline()  # printed once the bus listens
        with log.open("wb") as out:
            daemon = subprocess.Popen(
                ["unshare", "--mount", "sh", "-c", _AVAHI_CMD, "sh", str(tmp_path / "avahi.conf")],
                env=env, stdout=out, stderr=subprocess.STDOUT,
            )  # fmt: skip
        stack.callback(_stop, daemon)
        deadline = time.monotonic() + 10
        while "Server startup complete" not in log.read_text() and daemon.poll() is None:
            if time.monotonic() > deadline:
                break
            time.sleep(0.02)  # a sync fixture: there is no event loop to yield to yet
        if "Server startup complete. Host name is sdbox.local" not in log.read_text():
            pytest.fail(f"avahi-daemon did not start:\n{log.read_text()}")
        yield Avahi(env, log)


async def test_avahi_browse_sees_the_service_and_avahi_keeps_its_host_name(
    avahi: Avahi, browser: AsyncZeroconf
) -> None:
    ann = Announcement(
        port=8443,
        fingerprint=FP,
        version=__version__,
        hostname="sdbox",  # the name avahi-daemon owns on this box
        interfaces=[BOX_IP],
    )
    async with advertise(ann) as adv:  # default probe timeout: the real decision
        # avahi answers for sdbox.local, so selfdata points its SRV at a name of its own
        assert adv.server == "sdbox-3f9a1c.local."
        instance = adv.service_names[0].split("._selfdata")[0].replace(" ", "\\032")

        async def browsed() -> list[str] | None:
            out = await avahi.run("avahi-browse", "-rpt", "_selfdata._tcp")
            for line in out.splitlines():
                fields = line.split(";")
                if fields[0] == "=" and fields[3] == instance:
                    return fields
            return None

        fields = await eventually(browsed, "avahi-browse to resolve the service")
        assert fields[6:9] == ["sdbox-3f9a1c.local", BOX_IP, "8443"]
        txt = set(fields[9].split(" "))
        assert txt == {f'"version={__version__}"', '"path=/"', '"api=/api/v1"', f'"fp={FP}"'}

        # a python-zeroconf browser on the other machine resolves it too
        assert await addresses_of(browser, adv.service_names[0]) == {BOX_IP}

        # avahi still owns its host name: no conflict, no rename to sdbox-2
        resolved = await avahi.run("avahi-resolve", "-4", "-n", "sdbox.local")
        assert resolved.split() == ["sdbox.local", BOX_IP]
    log = avahi.log.read_text()
    assert "conflict" not in log.lower(), log


# --- the daemon itself ------------------------------------------------------------------------


async def test_a_running_selfdata_serve_is_found_on_the_lan_with_its_fingerprint(
    lan: Lan, browser: AsyncZeroconf, tmp_path: Path
) -> None:
    """End to end: `selfdata serve` (a real process, in the box namespace) is discoverable."""
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith("SELFDATA_")}
    data = tmp_path / "box"
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(  # noqa: ASYNC220 - forked from this thread, into the box netns
            [
                sys.executable,
                "-m",
                "selfdata",
                "--data-dir",
                str(data),
                "serve",
                "--port",
                "8443",
                "--http-port",
                "0",
            ],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    events = Events()
    sb = AsyncServiceBrowser(browser.zeroconf, [SELFDATA_SERVICE], handlers=[events])
    try:

        async def found() -> str | None:
            return next(iter(events.added), None)

        name = await eventually(found, "the daemon's _selfdata._tcp service", within=30)
        info = await eventually(lambda: resolve(browser, name), "its service info")
        assert info.port == 8443
        assert BOX_IP in info.parsed_addresses()
        cert = (data / "tls" / "cert.pem").read_bytes()
        from selfdata.tls import fingerprint_of

        expected = fingerprint_of(cert).replace(":", "").lower()
        assert info.decoded_properties["fp"] == expected
        assert info.decoded_properties["version"] == __version__
    finally:
        await sb.async_cancel()
        proc.terminate()
        assert proc.wait(timeout=30) == 0, log.read_text()
