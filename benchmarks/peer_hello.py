"""Peer: a minimal aiohttp hello-world server, the floor for the daemon's idle RSS.

Usage: python peer_hello.py. Listens on 127.0.0.1 (port chosen by the kernel), prints
the port on stdout once listening, and exits cleanly on SIGTERM, like ``selfdata serve``.
"""

from __future__ import annotations

import asyncio
import signal

from aiohttp import web


async def hello(request: web.Request) -> web.Response:
    return web.json_response({"hello": "world"})


async def main() -> None:
    app = web.Application()
    app.router.add_get("/", hello)
    runner = web.AppRunner(app, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    port = runner.addresses[0][1]
    print(port, flush=True)
    await stop.wait()
    await runner.cleanup()


if __name__ == "__main__":
    asyncio.run(main())
