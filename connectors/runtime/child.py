"""A connector run's child process: ``python -I -m selfdata.connectors.runtime.child FD``.

It reads its ``init`` message from the socket ``FD`` (the only descriptor it inherits),
confines itself (:mod:`.sandbox`), and only then imports the connector's code and runs
``sync`` (or ``probe``). Whatever happens, its last message is ``done`` with the outcome:
``ok``, one of the SDK's error kinds, or ``bug`` with the traceback.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import os
import socket
import sys
import traceback
from typing import Any

from ..sdk import CapabilityError, ConnectorError, RateLimit, RateLimited, UserActionNeeded
from .context import Channel, ChildContext
from .http import Client
from .protocol import encode, read_frame_blocking
from .sandbox import Policy, SandboxError, apply

__all__ = ["main"]


def main(argv: list[str]) -> int:
    fd = int(argv[1])
    try:
        init = read_frame_blocking(fd)
        layers = apply(Policy.from_json(init["policy"]))
    except (SandboxError, OSError, KeyError, ValueError) as err:
        _last_word(fd, {"op": "done", "outcome": "bug", "message": f"sandbox: {err}"})
        return 1
    # only now: nothing the connector brings has run before the sandbox was in place
    sys.path[:] = [p for p in init.get("sys_path", sys.path) if p and p != os.getcwd()]
    importlib.invalidate_caches()
    asyncio.run(_run(fd, init, layers))
    return 0


async def _run(fd: int, init: dict[str, Any], layers: list[str]) -> None:
    reader, writer = await asyncio.open_connection(sock=socket.socket(fileno=fd))
    channel = Channel(reader, writer)
    channel.post({"op": "hello", "layers": layers, "pid": os.getpid()})
    http: Client | None = None
    ctx: ChildContext | None = None
    done: dict[str, Any] = {"op": "done", "outcome": "ok"}
    try:
        if init.get("mode") == "catalogue":
            from .registry import scan  # noqa: PLC0415 - imports the errors of the daemon

            done["result"] = scan(
                bool(init.get("builtin")), bool(init.get("installed")), init.get("extra", [])
            )
            raise _Finished()
        module = _load(init["module"], init.get("attr"))
        manifest = module.MANIFEST
        if manifest.id != init["connector"]:
            raise RuntimeError(f"module {init['module']} is {manifest.id}, not {init['connector']}")
        limit: RateLimit = manifest.rate_limit
        http = Client(
            limit,
            daily_remaining=init.get("daily_remaining"),
            retries=int(init.get("http_retries", 3)),
            backoff=float(init.get("http_backoff", 1.0)),
        )
        ctx = ChildContext(
            channel,
            manifest,
            account_id=str(init.get("account_id", "")),
            credentials=init.get("credentials", {}),
            state=dict(init.get("state") or {}),
            base_urls=init.get("base_urls", {}),
            http=http,
            clock_trusted=init.get("clock_trusted", True) is not False,
        )
        if init.get("mode") == "probe":
            probe = getattr(module, "probe", None)
            if probe is None:
                raise RuntimeError(f"{manifest.id} has no probe")
            done["result"] = await probe(ctx, dict(init.get("options", {})))
        else:
            await module.sync(ctx)
    except _Finished:
        pass
    except ConnectorError as err:
        done.update(outcome=err.kind, message=err.message)
        if isinstance(err, UserActionNeeded):
            done["url"] = err.url
        if isinstance(err, RateLimited):
            done["retry_after"] = err.retry_after
    except CapabilityError as err:
        done.update(outcome="bug", message=f"refused by the box: {err}")
    except Exception as err:
        done.update(
            outcome="bug",
            message=f"{type(err).__name__}: {err}"[:2000],
            traceback=traceback.format_exc()[-20_000:],
        )
    finally:
        if http is not None:
            await http.close()
            done["http_requests"] = http.sent
    if ctx is not None:
        ctx.sync_state()
    channel.post(done)
    await channel.flush()
    await channel.close()


class _Finished(Exception):
    pass


def _load(module_name: str, attr: str | None) -> Any:
    module = importlib.import_module(module_name)
    for part in (attr or "").split("."):
        if part:
            module = getattr(module, part)
    return module


def _last_word(fd: int, message: dict[str, Any]) -> None:
    with contextlib.suppress(OSError):
        os.write(fd, encode(message))


if __name__ == "__main__":
    sys.exit(main(sys.argv))
