"""What the owner opted in to share, where, and with how much privacy."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import urlsplit

from ..answers.templates import is_number
from ..errors import InputError

__all__ = ["DATASETS", "Settings", "check_endpoint"]

DATASETS = {"electricity-monthly": "monthly electricity use (kWh), from enedis/daily_consumption"}
# An INSEE commune code (5 characters, 2A/2B in Corsica) or an IRIS code (commune + 4 digits).
_AREA = re.compile(r"^(\d{2}|2A|2B)\d{3}(\d{4})?$")
_PRM = re.compile(r"^\d{14}$")
_FIELDS = {"enabled", "endpoint", "area", "dataset", "meter", "epsilon", "sensitivity_kwh", "k"}


@dataclass(frozen=True)
class Settings:
    enabled: bool = False
    endpoint: str = ""
    area: str = ""
    dataset: str = "electricity-monthly"
    meter: str | None = None
    epsilon: float = 1.0
    sensitivity_kwh: int = 1000
    k: int = 10

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Settings:
        return cls(**{k: v for k, v in data.items() if k in _FIELDS})

    def updated(self, changes: dict[str, Any]) -> Settings:
        """These settings with ``changes`` (from the owner), every field checked."""
        unknown = sorted(set(changes) - _FIELDS)
        if unknown:
            raise InputError(f"unknown setting(s): {', '.join(unknown)[:80]}")
        merged = self.to_json() | changes
        enabled = merged["enabled"]
        if not isinstance(enabled, bool):
            raise InputError("enabled is true or false")
        dataset = merged["dataset"]
        if dataset not in DATASETS:
            raise InputError(f"dataset must be one of {', '.join(DATASETS)}")
        area = merged["area"]
        if not isinstance(area, str) or (area and not _AREA.fullmatch(area)):
            raise InputError(
                "area is an INSEE commune code (5 characters) or an IRIS code (9), e.g. 693830101"
            )
        meter = merged["meter"]
        if meter is not None and (not isinstance(meter, str) or not _PRM.fullmatch(meter)):
            raise InputError("meter is the Linky's 14-digit number (PRM), or null")
        epsilon = merged["epsilon"]
        if not is_number(epsilon) or not 0.05 <= epsilon <= 5:
            raise InputError("epsilon must be a number from 0.05 to 5")
        sensitivity = _whole(merged["sensitivity_kwh"], "sensitivity_kwh", 50, 100_000)
        k = _whole(merged["k"], "k", 2, 10_000)
        endpoint = merged["endpoint"]
        if not isinstance(endpoint, str):
            raise InputError("endpoint is an https:// URL")
        if endpoint:
            check_endpoint(endpoint)
        if enabled and not (endpoint and area):
            raise InputError("to opt in, set the collector's endpoint and your area first")
        return Settings(enabled, endpoint, area, dataset, meter, float(epsilon), sensitivity, k)


def check_endpoint(url: str) -> str:
    """An https:// URL (http:// only to this machine: a local collector, or tests)."""
    if len(url) > 300:
        raise InputError("the endpoint URL is longer than 300 characters")
    try:
        parts = urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018  (raises on a bad port)
    except ValueError:
        raise InputError("the endpoint is not a URL") from None
    if not host or parts.username is not None or parts.password is not None or parts.fragment:
        raise InputError("the endpoint is an https:// URL with a host, and no user or fragment")
    if any(c.isspace() or ord(c) < 32 for c in url):
        raise InputError("the endpoint is not a URL")
    if parts.scheme == "https":
        return url
    if parts.scheme == "http" and _loopback(host):
        return url
    raise InputError("the endpoint must be https:// (http:// only to this machine itself)")


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _whole(value: object, what: str, lo: int, hi: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not lo <= value <= hi:
        raise InputError(f"{what} must be a whole number from {lo} to {hi}")
    return value
