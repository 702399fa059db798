"""Advertise the running box on the LAN with mDNS / DNS-SD (python-zeroconf).

Two services point at the HTTPS port: ``_selfdata._tcp`` (for the CLI and apps that
look for a selfdata box) and ``_https._tcp`` (for generic browsers of web services).
Their TXT records carry ``version``, ``path=/``, ``api=/api/v1`` and ``fp``, the
SHA-256 fingerprint of the box's certificate, so a client can pin it on first
contact. Nothing personal is advertised.

Host name and avahi (see docs/mdns.md): python-zeroconf always speaks for the whole
address record set of the SRV target (A/AAAA, or an NSEC saying there is none), and
avahi-daemon renames itself to ``<host>-2`` when another responder announces other
addresses for its host name. So, when zeroconf starts, the advertiser asks the LAN
who answers for ``<hostname>.local.``:

- nobody: the SRV target is ``<hostname>.local.`` and the advertiser publishes the
  machine's addresses for it (this is what makes ``https://<hostname>.local`` work on
  a box without avahi);
- someone (avahi on this machine, or another box with the same name): that name is
  left alone and the SRV target is ``<hostname>-<fp[:6]>.local.``, a name only this
  box uses, with this box's addresses.

Unless told otherwise, zeroconf listens on every interface but loopback. Addresses are
polled every ``poll_interval`` seconds (no busy loop): a changed set is re-announced
(``update_service``, plus a goodbye for the addresses that went away); a new IPv4
address or a new IPv6-capable interface, which zeroconf's sockets do not listen on
yet, restarts zeroconf. When multicast cannot be used (no network, no permission), one
warning is logged, the daemon keeps running, and the advertiser retries at each poll.

Use from an aiohttp ``cleanup_ctx``::

    async def mdns_ctx(app: web.Application) -> AsyncIterator[None]:
        async with advertise(Announcement(port=443, fingerprint=fp, version=v)) as adv:
            app[MDNS] = adv
            yield
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import socket
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Final, TypeAlias

import ifaddr
import zeroconf
from zeroconf import Error as ZeroconfError
from zeroconf import InterfaceChoice
from zeroconf.asyncio import AsyncServiceInfo, AsyncZeroconf

from .errors import InputError

__all__ = [
    "API_PATH",
    "HTTPS_SERVICE",
    "SELFDATA_SERVICE",
    "AddressProvider",
    "Advertiser",
    "Announcement",
    "Interfaces",
    "advertise",
    "machine_addresses",
]

log = logging.getLogger(__name__)

SELFDATA_SERVICE: Final = "_selfdata._tcp.local."
HTTPS_SERVICE: Final = "_https._tcp.local."
SERVICE_TYPES: Final = (SELFDATA_SERVICE, HTTPS_SERVICE)
API_PATH: Final = "/api/v1"

AddressProvider: TypeAlias = Callable[[], Iterable[str]]
"""Returns the addresses to advertise now; called at start and at every poll."""

Interfaces: TypeAlias = Sequence[str | int] | InterfaceChoice
"""What python-zeroconf listens on: IP addresses / IPv6 interface indexes, or a choice."""

_DEFAULT_PROBE_TIMEOUT: Final = 1.5  # s, to learn whether someone owns <hostname>.local
_MAX_LABEL: Final = 63  # bytes in a DNS label
_RESPONSE_FLAGS: Final = 0x8400  # DNS header: QR (response) | AA (authoritative)
_DISABLED: Final = (
    "mDNS disabled: cannot use multicast DNS on this network (%s). The box stays reachable "
    "by its IP address; selfdata retries every %g s."
)
_STALE: Final = (
    "mDNS: cannot read the current addresses (%s); the last ones stay advertised. "
    "selfdata retries every %g s."
)
_FAILURES: Final = (OSError, RuntimeError, ZeroconfError, InputError)


@dataclass(frozen=True)
class Announcement:
    """What to advertise. Validated on creation (:class:`InputError` when malformed).

    ``fingerprint`` is the SHA-256 of the certificate (DER), as hex; ``AB:CD:…`` is
    accepted and normalised to lowercase hex without colons. ``addresses`` is a fixed
    list, a callable polled for the current list, or None to advertise every
    non-loopback address of the machine (IPv6 link-local ones excepted: zeroconf
    sends them on every interface, where they are not reachable).
    """

    port: int
    fingerprint: str
    version: str
    hostname: str | None = None
    addresses: Sequence[str] | AddressProvider | None = None
    interfaces: Interfaces | None = None

    def __post_init__(self) -> None:
        if not 0 < self.port < 65536:
            raise InputError(f"mDNS: port {self.port} is not a TCP port")
        fp = self.fingerprint_hex
        if len(fp) != 64 or any(c not in "0123456789abcdef" for c in fp):
            raise InputError("mDNS: the certificate fingerprint must be a SHA-256 in hex")
        if not self.version or len(self.version.encode()) > 200:
            raise InputError("mDNS: the version must be a short non-empty string")
        if isinstance(self.addresses, str):
            raise InputError("mDNS: addresses must be a list of IP addresses, not a string")
        if self.addresses is not None and not callable(self.addresses):
            _normalize(self.addresses)

    @property
    def fingerprint_hex(self) -> str:
        return self.fingerprint.replace(":", "").strip().lower()

    @property
    def txt(self) -> dict[str, str]:
        """The TXT record, in the order it is sent."""
        return {
            "version": self.version,
            "path": "/",
            "api": API_PATH,
            "fp": self.fingerprint_hex,
        }


def _normalize(addresses: Iterable[str]) -> tuple[str, ...]:
    """Canonical text forms, IPv4 first, sorted and unique, so sets compare."""
    try:
        parsed = {ipaddress.ip_address(a) for a in addresses}
    except ValueError as err:
        raise InputError(f"mDNS: {err}") from err
    ordered = sorted(parsed, key=lambda a: (a.version, a.packed))
    return tuple(str(a) for a in ordered)


def _adapter_ips() -> list[tuple[int, str, int]]:
    """Every (interface index, address, prefix length) of the machine, loopback included."""
    found: list[tuple[int, str, int]] = []
    for adapter in ifaddr.get_adapters():
        index = int(getattr(adapter, "index", None) or 0)
        for ip in adapter.ips:
            # ifaddr gives IPv4 as str and IPv6 as (address, flowinfo, scope_id)
            text = ip.ip[0] if isinstance(ip.ip, tuple) else ip.ip
            found.append((index, str(text).split("%", 1)[0], int(ip.network_prefix)))
    return found


def machine_addresses() -> tuple[str, ...]:
    """The machine's addresses worth advertising: no loopback, no IPv6 link-local."""
    keep: list[str] = []
    for _, text, _prefix in _adapter_ips():
        addr = ipaddress.ip_address(text)
        if addr.is_loopback or addr.is_unspecified or addr.is_multicast:
            continue
        if addr.version == 6 and addr.is_link_local:
            continue
        keep.append(text)
    return _normalize(keep)


def _bindings() -> frozenset[tuple[int, int, str]]:
    """Where zeroconf should listen: (4, index, address) or (6, index, "") keys.

    Like zeroconf's ``InterfaceChoice.All`` (each IPv4 address but /32 ones, each
    interface with IPv6), minus loopback: Linux' ``lo`` has no MULTICAST flag, and
    zeroconf would log a send error with a traceback for ``::1`` at every start.
    """
    keys: set[tuple[int, int, str]] = set()
    for index, text, prefix in _adapter_ips():
        addr = ipaddress.ip_address(text)
        if addr.is_loopback:
            continue
        if addr.version == 4 and prefix != 32:
            keys.add((4, index, text))
        elif addr.version == 6 and index:
            keys.add((6, index, ""))
    return frozenset(keys)


async def _close_quietly(azc: AsyncZeroconf) -> None:
    """Unregister everything (goodbye packets) and close the sockets."""
    try:
        await azc.async_close()
    except (OSError, RuntimeError, ZeroconfError) as err:
        log.debug("mDNS: error while closing zeroconf: %r", err)


def _label(text: str, limit: int = _MAX_LABEL) -> str:
    """``text`` cut to at most ``limit`` UTF-8 bytes without splitting a character."""
    return text.encode()[:limit].decode(errors="ignore")


class Advertiser:
    """Registers the box's services with python-zeroconf and keeps them current."""

    def __init__(
        self,
        announcement: Announcement,
        *,
        poll_interval: float = 30.0,
        host_probe_timeout: float = _DEFAULT_PROBE_TIMEOUT,
    ) -> None:
        if poll_interval <= 0:
            raise InputError("mDNS: the address poll interval must be positive")
        self._ann = announcement
        self._poll_interval = poll_interval
        self._probe_timeout = host_probe_timeout
        raw = (announcement.hostname or socket.gethostname()).strip().rstrip(".")
        self._host = _label(raw.split(".", 1)[0] or "selfdata", _MAX_LABEL - 7)
        self._instance = _label(f"selfdata on {self._host}")
        self._server = f"{self._host}.local."
        self._azc: AsyncZeroconf | None = None
        self._infos: list[AsyncServiceInfo] = []
        self._addresses: tuple[str, ...] = ()
        self._bound: frozenset[tuple[int, int, str]] = frozenset()
        self._failing = False
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._broadcasts: set[asyncio.Future[Any]] = set()

    @property
    def service_names(self) -> list[str]:
        """Full names currently registered (empty while mDNS is unavailable)."""
        return [info.name for info in self._infos]

    @property
    def server(self) -> str:
        """The SRV target: ``<hostname>.local.``, or ``<hostname>-<fp>.local.``."""
        return self._server

    @property
    def addresses(self) -> list[str]:
        """The addresses currently advertised."""
        return list(self._addresses)

    @property
    def running(self) -> bool:
        """True while the services are registered on the network."""
        return self._azc is not None

    async def start(self) -> None:
        """Register both services; on a multicast failure, warn once and keep going."""
        if self._task is not None:
            return
        self._stopping.clear()
        await self._open()
        self._task = asyncio.create_task(self._poll(), name="selfdata-mdns")

    async def stop(self) -> None:
        """Stop polling, unregister (goodbye packets) and close zeroconf."""
        task, self._task = self._task, None
        self._stopping.set()
        if task is not None:
            await task
        await self._close()

    # --- zeroconf lifecycle -------------------------------------------------------

    async def _open(self) -> None:
        self._bound = _bindings() if self._ann.interfaces is None else frozenset()
        azc: AsyncZeroconf | None = None
        try:
            addresses = self._wanted_addresses()
            azc = self._new_zeroconf()
            await azc.zeroconf.async_wait_for_start()
            server = await self._pick_server(azc)
            self._addresses, self._server = addresses, server
            infos = [self._info(type_) for type_ in SERVICE_TYPES]
            broadcasts = await asyncio.gather(
                *(azc.async_register_service(i, allow_name_change=True) for i in infos)
            )
            self._track(broadcasts)  # the announcements go on for another half second
        except _FAILURES as err:
            if azc is not None:
                await self._cancel_broadcasts()
                await _close_quietly(azc)
            self._flip_failing(err)
            return
        self._azc, self._infos = azc, infos
        if self._failing:
            self._failing = False
            log.info("mDNS works again: advertising %s", self._describe())
        else:
            log.info("mDNS: advertising %s", self._describe())

    def _new_zeroconf(self) -> AsyncZeroconf:
        choices: list[list[str | int]] | list[InterfaceChoice]
        if isinstance(self._ann.interfaces, InterfaceChoice):
            choices = [self._ann.interfaces]
        elif self._ann.interfaces is not None:
            choices = [list(self._ann.interfaces)]  # zeroconf wants a list, not any sequence
        else:
            ipv4: list[str | int] = sorted(a for v, _, a in self._bound if v == 4)
            ipv6: list[str | int] = sorted(i for v, i, _ in self._bound if v == 6)
            if not ipv4 and not ipv6:
                raise RuntimeError("no network interface with an IP address")
            # IPv4 alone when IPv6 fails (no IPv6 in the kernel, address still tentative)
            choices = [ipv4 + ipv6, ipv4] if ipv4 and ipv6 else [ipv4 + ipv6]
        failure = ""
        with warnings.catch_warnings():
            # When AsyncZeroconf() fails it drops the listen socket it had already opened,
            # and CPython closes it with a ResourceWarning as the exception is cleared.
            warnings.simplefilter("ignore", ResourceWarning)
            for choice in choices:
                try:
                    return AsyncZeroconf(interfaces=choice)
                except (OSError, RuntimeError, ValueError) as err:
                    failure = f"{type(err).__name__}: {err}"
        raise RuntimeError(failure)

    async def _close(self) -> None:
        azc, self._azc = self._azc, None
        self._infos = []
        await self._cancel_broadcasts()  # no announcement may follow the goodbyes
        if azc is not None:
            await _close_quietly(azc)

    def _track(self, broadcasts: Iterable[Awaitable[Any]]) -> None:
        for broadcast in broadcasts:
            future = asyncio.ensure_future(broadcast)
            self._broadcasts.add(future)
            future.add_done_callback(self._broadcast_done)

    def _broadcast_done(self, future: asyncio.Future[Any]) -> None:
        self._broadcasts.discard(future)
        if not future.cancelled() and (err := future.exception()) is not None:
            log.debug("mDNS: announcement failed: %s", err)

    async def _cancel_broadcasts(self) -> None:
        pending = list(self._broadcasts)
        for future in pending:
            future.cancel()
        await asyncio.gather(*pending, return_exceptions=True)

    async def _pick_server(self, azc: AsyncZeroconf) -> str:
        """``<hostname>.local.`` unless someone (avahi…) already answers for it."""
        own = f"{self._host}.local."
        # public in python-zeroconf but missing from its __all__ (mypy: "not exported")
        resolver = zeroconf.AddressResolver(own)  # type: ignore[attr-defined]
        # The first question asks for a unicast answer, the next ones for multicast: a
        # responder that multicast the record less than a second ago holds its multicast
        # answer back until that second is over (RFC 6762 §6), hence the 1.5 s default.
        answered: bool = await resolver.async_request(azc.zeroconf, self._probe_timeout * 1000)
        if not answered:
            return own
        log.info(
            "mDNS: %s is already answered by %s (avahi?); advertising as %s-%s.local",
            own,
            ", ".join(resolver.parsed_addresses()),
            self._host,
            self._ann.fingerprint_hex[:6],
        )
        return f"{self._host}-{self._ann.fingerprint_hex[:6]}.local."

    def _info(self, type_: str, name: str | None = None) -> AsyncServiceInfo:
        return AsyncServiceInfo(
            type_,
            name or f"{self._instance}.{type_}",
            port=self._ann.port,
            properties=self._ann.txt,
            server=self._server,
            parsed_addresses=list(self._addresses),
        )

    def _wanted_addresses(self) -> tuple[str, ...]:
        source = self._ann.addresses
        if source is None:
            return machine_addresses()
        if callable(source):
            return _normalize(source())
        return _normalize(source)

    # --- polling --------------------------------------------------------------------

    async def _poll(self) -> None:
        while True:
            try:
                await asyncio.wait_for(self._stopping.wait(), timeout=self._poll_interval)
            except TimeoutError:
                pass
            else:
                return
            try:
                await self._refresh()
            except Exception:
                log.exception("mDNS: address polling crashed; changes are no longer announced")
                raise

    async def _refresh(self) -> None:
        if self._azc is None:
            await self._open()  # mDNS was unavailable: try again
            return
        try:
            bound = _bindings() if self._ann.interfaces is None else frozenset()
            wanted = self._wanted_addresses()
        except _FAILURES as err:
            self._flip_failing(err, _STALE)
            return
        if self._failing:
            self._failing = False
            log.info("mDNS works again")
        if bound - self._bound:
            log.info("mDNS: new network interface or address, restarting zeroconf")
            await self._close()
            await self._open()
            return
        self._bound = bound
        if wanted == self._addresses:
            return
        log.info("mDNS: addresses changed to %s, re-announcing", ", ".join(wanted) or "none")
        removed = [a for a in self._addresses if a not in wanted]
        self._addresses = wanted
        try:
            if removed:
                self._goodbye_addresses(self._azc, removed)
            infos = [self._info(info.type, info.name) for info in self._infos]
            await self._cancel_broadcasts()  # older announcements would undo this one
            self._track([await self._azc.async_update_service(info) for info in infos])
            self._infos = infos
        except _FAILURES as err:
            await self._close()
            self._flip_failing(err)

    def _goodbye_addresses(self, azc: AsyncZeroconf, removed: list[str]) -> None:
        """Withdraw address records at once (TTL 0, RFC 6762 §10.1).

        The cache-flush bit of the re-announcement only evicts records received more
        than one second earlier (§10.2), so without this a browser that heard the old
        address recently would keep it for the whole TTL (two minutes).
        """
        gone = AsyncServiceInfo(
            SELFDATA_SERVICE,
            f"gone.{SELFDATA_SERVICE}",
            server=self._server,
            parsed_addresses=removed,
        )
        # DNSOutgoing is public in python-zeroconf but missing from its __all__
        out = zeroconf.DNSOutgoing(_RESPONSE_FLAGS)  # type: ignore[attr-defined]
        for record in gone.dns_addresses(override_ttl=0):
            out.add_answer_at_time(record, 0)
        azc.zeroconf.async_send(out)

    # --- logging ----------------------------------------------------------------------

    def _flip_failing(self, err: BaseException, message: str | None = None) -> None:
        if self._failing:
            log.debug("mDNS still failing: %r", err)
            return
        self._failing = True
        log.warning(message or _DISABLED, str(err) or type(err).__name__, self._poll_interval)

    def _describe(self) -> str:
        names = ", ".join(repr(name) for name in self.service_names)
        where = ", ".join(self._addresses) or "no address yet"
        return f"{names} on port {self._ann.port} at {self._server} ({where})"


@contextlib.asynccontextmanager
async def advertise(
    announcement: Announcement,
    *,
    poll_interval: float = 30.0,
    host_probe_timeout: float = _DEFAULT_PROBE_TIMEOUT,
) -> AsyncIterator[Advertiser]:
    """Advertise for the duration of the ``async with`` block (an aiohttp cleanup_ctx)."""
    advertiser = Advertiser(
        announcement, poll_interval=poll_interval, host_probe_timeout=host_probe_timeout
    )
    await advertiser.start()
    try:
        yield advertiser
    finally:
        await advertiser.stop()
