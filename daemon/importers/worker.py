"""A second core for big imports: records are read, checked, named and compressed in a
child process.

Reading, validating, hashing and compressing records holds the GIL as much as sealing
and writing them does, so in one process they take turns. The child gets the raw bytes
on its stdin and answers checked records (:mod:`.checked`) on its stdout, while the
daemon seals and writes the batch before; the pipes' back-pressure keeps memory bounded
in both.

The child is the part of the box that parses hostile files, so it gets as little as it
can work with: the naming key (ids are keyed hashes) and no other, no store, no file
descriptor but its pipes and, when the input is a file (one the CLI handed over, see
:mod:`selfdata.handover`), that file, read-only: it reads it itself, so its bytes go
through neither the daemon nor a pipe. Before it reads a byte of the input it confines itself with
the connectors' sandbox (no_new_privs, Landlock: read-only Python and nothing else;
seccomp: no Unix sockets, no ptrace, signals only to itself).

On the wire: first, to the child, a little-endian ``u32`` length and a JSON object (the
doctype, format, id field, naming key, dictionary, and the file's descriptor number if it
has one), then the input as it comes, unless it reads a file. From the child,
each batch is a ``u32`` length then ``marshal`` of the list of tuples (str, bytes, int
and None: nothing that runs code when loaded).
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import fcntl
import io
import json
import marshal
import os
import signal
import struct
import sys
from collections.abc import AsyncGenerator, AsyncIterable, AsyncIterator
from concurrent.futures import Future, ThreadPoolExecutor

from ..doctypes import Doctype, resolve
from ..errors import SelfdataError, ValidationError
from ..vault import Namer
from .checked import Item, Packer, checked_batches

__all__ = ["worker_batches"]

_HEADER = struct.Struct("<I")
_CHUNK = 64 * 1024
_PIPE_BYTES = 1024 * 1024  # Linux's default cap (/proc/sys/fs/pipe-max-size)
#: A batch holds at most BATCH_BYTES and one more record (a line of MAX_RECORD
#: characters, a few MB as JSON): a longer message is a broken child, not a batch.
_MAX_MESSAGE = 64 * 1024 * 1024
#: How long a child that cut a message short gets to be seen gone, and why.
_EXIT_SECONDS = 2.0


async def worker_batches(
    chunks: AsyncIterable[bytes] | int,
    fmt: str,
    doctype: Doctype,
    id_field: str | None,
    names: bytes,
    dictionary: bytes | None,
) -> AsyncGenerator[list[Item | bytes], None]:
    """:func:`.checked.checked_batches` of ``chunks`` (or of the file whose descriptor it
    is, read by the child from its offset), packed (:class:`.checked.Packer` with the
    doctype's ``dictionary``), computed by a child process; ``names``: the naming key."""
    file = chunks if isinstance(chunks, int) else None
    config = json.dumps(
        {
            "doctype": doctype.name,
            "fmt": fmt,
            "id_field": id_field,
            "names": names.hex(),
            "dictionary": dictionary.hex() if dictionary is not None else None,
            "file": file,
        }
    ).encode()
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-I", "-m", __name__,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        start_new_session=True,  # a Ctrl-C reaches the import, which stops the child
        pass_fds=() if file is None else (file,),
    )  # fmt: skip
    assert proc.stdin is not None
    assert proc.stdout is not None
    assert proc.stderr is not None
    proc.stdin.write(_HEADER.pack(len(config)) + config)
    feeding = asyncio.create_task(_feed(() if isinstance(chunks, int) else chunks, proc.stdin))
    complaint = asyncio.create_task(_tail(proc.stderr))
    try:
        while True:
            try:
                header = await proc.stdout.readexactly(_HEADER.size)
            except asyncio.IncompleteReadError as err:
                if err.partial:
                    raise await _cut(proc, complaint) from None
                break
            (size,) = _HEADER.unpack(header)
            if size >= _MAX_MESSAGE:
                raise SelfdataError("the import's reader sent a malformed message")
            try:
                blob = await proc.stdout.readexactly(size)
            except asyncio.IncompleteReadError:
                raise await _cut(proc, complaint) from None
            try:  # our own child wrote it, from our own tuples (see the module docstring)
                batch = marshal.loads(blob)  # noqa: S302
                if not isinstance(batch, list):
                    raise TypeError(type(batch).__name__)
            except (EOFError, ValueError, TypeError):
                raise SelfdataError("the import's reader sent a malformed message") from None
            yield batch
        await feeding  # the input's own error (a client gone) comes first
        code = await proc.wait()
        if code != 0:
            raise await _failed(code, complaint)
    finally:
        if proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
        feeding.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await feeding
        # wait() returns once the pipes are closed too: read them to their end (the
        # child is gone, so that is what they still hold, and then EOF)
        with contextlib.suppress(Exception):
            while await proc.stdout.read(_CHUNK):
                pass
        with contextlib.suppress(Exception):
            await complaint
        await proc.wait()


async def _feed(chunks: AsyncIterable[bytes] | tuple[()], stdin: asyncio.StreamWriter) -> None:
    try:
        await stdin.drain()  # the config
        if isinstance(chunks, tuple):  # it reads a file
            return
        async for chunk in chunks:
            stdin.write(chunk)
            await stdin.drain()
    except (BrokenPipeError, ConnectionResetError):
        return  # the child ended first: its exit status says why
    finally:
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            stdin.close()


async def _tail(stream: asyncio.StreamReader, keep: int = 4096) -> str:
    """What the child wrote on stderr (a traceback, if it crashed): the end of it."""
    tail = b""
    while chunk := await stream.read(_CHUNK):
        tail = (tail + chunk)[-keep:]
    return tail.decode("utf-8", "replace")


async def _failed(code: int, complaint: asyncio.Task[str]) -> SelfdataError:
    last = (await complaint).strip().splitlines()
    return SelfdataError(
        f"the import's reader failed ({_exit(code)})" + (f": {last[-1]}" if last else "")
    )


async def _cut(proc: asyncio.subprocess.Process, complaint: asyncio.Task[str]) -> SelfdataError:
    """A message cut short: the child's exit says why (killed, crashed), if it died."""
    with contextlib.suppress(TimeoutError):
        code = await asyncio.wait_for(proc.wait(), _EXIT_SECONDS)
        if code != 0:
            return await _failed(code, complaint)
    return SelfdataError("the import's reader stopped mid-message")


def _exit(code: int) -> str:
    return f"killed by signal {-code}" if code < 0 else f"exit status {code}"


# --- the child --------------------------------------------------------------------------


def _widen_pipes() -> None:
    """1 MiB pipes instead of 64 KiB: 16 times fewer wake-ups of the daemon's event loop
    to move the same bytes, both ways."""
    for fd in (0, 1):
        with contextlib.suppress(AttributeError, OSError):  # not Linux, or capped lower
            fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, _PIPE_BYTES)


async def _input_chunks(source: io.BufferedReader) -> AsyncIterator[bytes]:
    while chunk := source.read1(_PIPE_BYTES):
        yield chunk


async def _child(
    source: io.BufferedReader,
    doctype: Doctype,
    fmt: str,
    id_field: str | None,
    namer: Namer,
    pack: Packer,
) -> None:
    out = sys.stdout.buffer
    # batch k is compressed (zstd lets go of the GIL) while batch k+1 is parsed; one
    # thread, so batches are packed in order (the first may train the dictionary)
    with ThreadPoolExecutor(1) as packer:
        pending: Future[bytes] | None = None
        async for batch in checked_batches(_input_chunks(source), fmt, doctype, id_field, namer):
            packing = packer.submit(_message, pack, batch)
            if pending is not None:
                out.write(pending.result())
            pending = packing
        if pending is not None:
            out.write(pending.result())
    out.flush()


def _message(pack: Packer, batch: list[Item]) -> bytes:
    blob = marshal.dumps(pack(batch))
    return _HEADER.pack(len(blob)) + blob


def _confine() -> list[str]:
    """Read-only Python, nothing else (see the module docstring)."""
    from ..connectors.runtime import sandbox  # noqa: PLC0415 - only the child needs it

    # the decoders the reader may switch to, loaded now; a lazy import can still read Python
    for name in ("utf_8_sig", "utf_16", "utf_16_le", "utf_16_be", "cp1252"):
        codecs.lookup(name)
    sandbox.protect_memory()  # it holds the naming key
    return sandbox.apply(sandbox.Policy(read=sorted(sandbox.python_paths(sys.path)), write=[]))


def main() -> int:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when this stops
    _widen_pipes()
    stdin = sys.stdin.buffer
    assert isinstance(stdin, io.BufferedReader)  # what a pipe is, with read1
    head = stdin.read(_HEADER.size)
    if len(head) < _HEADER.size:
        return 2
    config = json.loads(stdin.read(_HEADER.unpack(head)[0]))
    namer = Namer(bytes.fromhex(config.pop("names")))
    dictionary = config["dictionary"]
    pack = Packer(bytes.fromhex(dictionary) if dictionary is not None else None)
    doctype = resolve(config["doctype"])
    with contextlib.suppress(ValidationError):  # compiles the validator: before the sandbox
        doctype.validate({})
    # a file is read by the descriptor the parent passed (the sandbox stops opening paths)
    source = stdin
    if config["file"] is not None:
        source = io.BufferedReader(io.FileIO(config["file"], "rb"), _PIPE_BYTES)
    _confine()
    try:
        asyncio.run(_child(source, doctype, config["fmt"], config["id_field"], namer, pack))
    except BrokenPipeError:  # the parent stopped reading: it has its reasons
        os._exit(1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
