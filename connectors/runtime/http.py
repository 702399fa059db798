"""The HTTP client a connector gets as ``ctx.http``: aiohttp with the manifest's rate
limit, time-outs, retries with backoff, and the service's errors turned into the SDK's.

* connection errors, time-outs and 5xx are retried (``retries`` times, exponential
  backoff with jitter), then raised as :class:`~selfdata.connectors.sdk.ServiceDown`;
* a 429 is raised at once as :class:`~selfdata.connectors.sdk.RateLimited` with the
  service's ``Retry-After``;
* every other status is returned for the connector to judge;
* requests wait for the rate limit (``requests`` per ``per_seconds``), and a daily cap
  (counted by the daemon across runs) ends the run with ``RateLimited`` until tomorrow.

Bodies are read whole, up to ``max_body`` bytes (64 MiB by default): a larger one is
refused rather than filling a Pi's memory.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import random
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp
from multidict import CIMultiDict
from yarl import URL

from ... import __version__
from ..sdk import RateLimit, RateLimited, ServiceDown

__all__ = ["Client", "Response", "TokenBucket"]

USER_AGENT = f"selfdata/{__version__} (personal data box)"
DEFAULT_MAX_BODY = 64 * 1024 * 1024


@dataclass
class Response:
    status: int
    headers: Mapping[str, str]
    body: bytes
    url: str = ""

    async def json(self) -> Any:
        return json.loads(self.body)

    async def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    async def read(self) -> bytes:
        return self.body


class TokenBucket:
    """``requests`` per ``per_seconds``, smoothly (a burst of at most ``requests``)."""

    def __init__(self, limit: RateLimit, clock: Any = time.monotonic) -> None:
        self.capacity = max(1.0, float(limit.requests))
        self.rate = self.capacity / max(limit.per_seconds, 1e-6)
        self.tokens = self.capacity
        self._clock = clock
        self._last = clock()
        self._lock = asyncio.Lock()

    async def take(self) -> None:
        async with self._lock:
            while True:
                now = self._clock()
                self.tokens = min(self.capacity, self.tokens + (now - self._last) * self.rate)
                self._last = now
                if self.tokens >= 1:
                    self.tokens -= 1
                    return
                await asyncio.sleep((1 - self.tokens) / self.rate)


class Client:
    def __init__(
        self,
        limit: RateLimit,
        *,
        daily_remaining: int | None = None,
        retries: int = 3,
        backoff: float = 1.0,
        timeout: float = 60.0,
    ) -> None:
        self._bucket = TokenBucket(limit)
        self._daily_remaining = daily_remaining
        self.retries = retries
        self.backoff = backoff
        self._timeout = aiohttp.ClientTimeout(total=timeout, connect=min(20.0, timeout))
        self._session: aiohttp.ClientSession | None = None
        #: Requests sent (the daemon counts them against the daily cap).
        self.sent = 0

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                timeout=self._timeout, headers={"User-Agent": USER_AGENT}, trust_env=False
            )
        return self._session

    async def request(
        self,
        method: str,
        url: str,
        *,
        retries: int | None = None,
        max_body: int = DEFAULT_MAX_BODY,
        **kwargs: Any,
    ) -> Response:
        attempts = (self.retries if retries is None else retries) + 1
        for attempt in range(attempts):
            last = attempt == attempts - 1
            await self._spend()
            try:
                async with self._client().request(method, url, **kwargs) as resp:
                    if resp.status == 429:
                        raise RateLimited(
                            f"{_host(url)} says too many requests (HTTP 429)",
                            _retry_after(resp.headers),
                        )
                    if resp.status >= 500:
                        if last:
                            raise ServiceDown(f"{_host(url)} answered HTTP {resp.status}")
                        await self._pause(attempt, _retry_after(resp.headers))
                        continue
                    body = await _read(resp, max_body)
                    return Response(resp.status, CIMultiDict(resp.headers), body, str(resp.url))
            except (aiohttp.ClientError, TimeoutError) as err:
                if last:
                    raise ServiceDown(f"cannot reach {_host(url)}: {_describe(err)}") from err
                await self._pause(attempt, None)
        raise AssertionError("unreachable")  # pragma: no cover

    async def get(self, url: str, **kwargs: Any) -> Response:
        return await self.request("GET", url, **kwargs)

    async def post(self, url: str, **kwargs: Any) -> Response:
        return await self.request("POST", url, **kwargs)

    async def _spend(self) -> None:
        if self._daily_remaining is not None:
            if self._daily_remaining <= 0:
                raise RateLimited(
                    "the daily request quota of this source is used up", _seconds_to_utc_midnight()
                )
            self._daily_remaining -= 1
        await self._bucket.take()
        self.sent += 1

    async def _pause(self, attempt: int, hint: float | None) -> None:
        delay = self.backoff * (2**attempt) * random.uniform(0.8, 1.2)  # noqa: S311 - jitter
        if hint is not None:
            delay = max(delay, min(hint, 60.0))
        await asyncio.sleep(delay)


async def _read(resp: aiohttp.ClientResponse, limit: int) -> bytes:
    if resp.content_length is not None and resp.content_length > limit:
        raise ServiceDown(
            f"{_host(str(resp.url))} sent {resp.content_length} bytes: over the limit"
        )
    chunks: list[bytes] = []
    size = 0
    async for chunk in resp.content.iter_chunked(256 * 1024):
        size += len(chunk)
        if size > limit:
            raise ServiceDown(f"{_host(str(resp.url))} sent more than {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _retry_after(headers: Mapping[str, str]) -> float | None:
    value = (headers.get("Retry-After") or "").strip()
    if not value:
        return None
    if value.isdigit():
        return float(value)
    try:
        from email.utils import parsedate_to_datetime  # noqa: PLC0415 - rare path

        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - dt.datetime.now(dt.UTC)).total_seconds())


def _seconds_to_utc_midnight() -> float:
    now = dt.datetime.now(dt.UTC)
    tomorrow = (now + dt.timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return (tomorrow - now).total_seconds()


def _host(url: str) -> str:
    try:
        return URL(url).host or url
    except ValueError:
        return url


def _describe(err: BaseException) -> str:
    return str(err) or type(err).__name__
