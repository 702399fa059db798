"""Confining a connector's child process: what it may see and do, applied by the child
itself right after it reads its ``init`` message and before it imports any connector code.

Layers, each applied when the kernel and the daemon's privileges allow it (the run
record lists which were):

* ``uid`` — when the daemon runs as root, the child drops to ``nobody`` (no groups):
  file permissions then keep it out of the data dir and the admin socket;
* ``no_new_privs`` — no set-uid binary can give privileges back;
* ``landlock`` — a Landlock ruleset (Linux ≥ 5.13): the child reads only Python, its
  libraries and a few files of ``/etc``; writes only in its own empty work dir; may not
  signal, ptrace or reach abstract Unix sockets outside itself (ABI ≥ 6 for the last two);
* ``seccomp`` — a small filter: no new named-able ``AF_UNIX`` sockets (so no way to the admin
  socket or any local daemon), no ``ptrace``/``process_vm_*``, no ``setsid``/``setpgid``
  (so a time-out's SIGKILL to the process group reaches every descendant), signals only
  to itself.

What is not confined: the network (a connector's job is to reach its service), CPU and
memory (systemd's limits on the service bound them). See docs/connectors.md.
"""

from __future__ import annotations

import ctypes
import errno
import os
import platform
import struct
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ... import __file__ as _selfdata_init

__all__ = ["Policy", "SandboxError", "apply", "landlock_abi", "protect_memory", "python_paths"]

_PR_SET_DUMPABLE = 4
_PR_SET_NO_NEW_PRIVS = 38
_PR_SET_SECCOMP = 22
_SECCOMP_MODE_FILTER = 2
_SYS_LANDLOCK_CREATE_RULESET = 444  # the same number on every architecture
_SYS_LANDLOCK_ADD_RULE = 445
_SYS_LANDLOCK_RESTRICT_SELF = 446
_LANDLOCK_CREATE_RULESET_VERSION = 1
_LANDLOCK_RULE_PATH_BENEATH = 1

# filesystem rights, by ABI version that introduced them
_EXECUTE, _WRITE_FILE, _READ_FILE, _READ_DIR = 1 << 0, 1 << 1, 1 << 2, 1 << 3
_REMOVE_FILE, _MAKE_DIR, _MAKE_REG = 1 << 5, 1 << 7, 1 << 8
_ABI1_ALL = (1 << 13) - 1
_REFER, _TRUNCATE, _IOCTL_DEV = 1 << 13, 1 << 14, 1 << 15
_FILE_RIGHTS = _EXECUTE | _WRITE_FILE | _READ_FILE | _TRUNCATE | _IOCTL_DEV
_SCOPE_ABSTRACT_UNIX_SOCKET, _SCOPE_SIGNAL = 1 << 0, 1 << 1

_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long


class SandboxError(Exception):
    """A layer that should apply could not (the child then refuses to run)."""


@dataclass
class Policy:
    """What the daemon allows a child: computed by the daemon, applied by the child."""

    #: Directories and files the child may read (Python, libraries, certificates).
    read: list[str] = field(default_factory=list)
    #: Directories it may read and write (its own work dir).
    write: list[str] = field(default_factory=list)
    #: Device files or other files it may read and write (a serial meter's tty), and
    #: folders whose files it may read and move within them (a drop folder).
    devices: list[str] = field(default_factory=list)
    #: Uid and gid to drop to when started as root (``None``: stay).
    uid: int | None = None
    gid: int | None = None
    landlock: bool = True
    seccomp: bool = True

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Policy:
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})


def python_paths(python_path: Iterable[str]) -> set[str]:
    """What this interpreter reads to import: the path's folders, its prefixes and standard
    library, and selfdata's own folders (where an editable install's links lead), each
    also as its real path."""
    paths = {p for p in python_path if p and os.path.isdir(p)}
    paths |= {sys.prefix, sys.base_prefix, sys.exec_prefix, os.path.dirname(os.__file__)}
    paths |= {
        str(Path(__file__).resolve().parent.parent),
        str(Path(_selfdata_init).resolve().parent),
    }
    return paths | {os.path.realpath(p) for p in paths}


def protect_memory() -> None:
    """Make this process's memory unreadable through ptrace and /proc/<pid>/mem by
    processes of the same user (Debian does not enable Yama's ptrace restriction)."""
    _libc.prctl(_PR_SET_DUMPABLE, 0, 0, 0, 0)


def apply(policy: Policy) -> list[str]:
    """Confine this process; returns the layers applied, in order."""
    layers: list[str] = []
    if policy.uid is not None and os.geteuid() == 0:
        gid = policy.gid if policy.gid is not None else policy.uid
        os.setgroups([])
        os.setresgid(gid, gid, gid)
        os.setresuid(policy.uid, policy.uid, policy.uid)
        layers.append("uid")
    if _libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        raise SandboxError(f"prctl(NO_NEW_PRIVS): {os.strerror(ctypes.get_errno())}")
    layers.append("no_new_privs")
    if policy.landlock:
        abi = landlock_abi()
        if abi > 0:
            _landlock(policy, abi)
            layers.append(f"landlock-v{abi}")
    if policy.seccomp and _seccomp():
        layers.append("seccomp")
    return layers


# --- Landlock ------------------------------------------------------------------------------


def landlock_abi() -> int:
    """The kernel's Landlock ABI version; 0 when Landlock is off or filtered out."""
    version = _libc.syscall(
        _SYS_LANDLOCK_CREATE_RULESET,
        None,
        ctypes.c_size_t(0),
        ctypes.c_uint32(_LANDLOCK_CREATE_RULESET_VERSION),
    )
    return int(version) if version > 0 else 0


def _landlock(policy: Policy, abi: int) -> None:
    handled = _ABI1_ALL
    if abi >= 2:
        handled |= _REFER
    if abi >= 3:
        handled |= _TRUNCATE
    if abi >= 5:
        handled |= _IOCTL_DEV
    scoped = _SCOPE_ABSTRACT_UNIX_SOCKET | _SCOPE_SIGNAL if abi >= 6 else 0
    # struct landlock_ruleset_attr: handled_access_fs, handled_access_net (ABI 4), scoped (ABI 6)
    if abi >= 6:
        attr = struct.pack("=QQQ", handled, 0, scoped)
    elif abi >= 4:
        attr = struct.pack("=QQ", handled, 0)
    else:
        attr = struct.pack("=Q", handled)
    buf = ctypes.create_string_buffer(attr, len(attr))
    ruleset = _libc.syscall(
        _SYS_LANDLOCK_CREATE_RULESET, buf, ctypes.c_size_t(len(attr)), ctypes.c_uint32(0)
    )
    if ruleset < 0:
        raise SandboxError(f"landlock_create_ruleset: {os.strerror(ctypes.get_errno())}")
    try:
        read = _READ_FILE | _READ_DIR | _EXECUTE
        for path in policy.read:
            _allow(int(ruleset), path, read & handled)
        for path in policy.write:
            _allow(int(ruleset), path, handled & ~_EXECUTE)
        for path in policy.devices:
            if os.path.isdir(path):
                # a folder the owner named (a drop folder): list and read its files, and
                # move them into sub-folders of it; nothing else of it may change
                rights = _READ_FILE | _READ_DIR | _REMOVE_FILE | _MAKE_DIR | _MAKE_REG | _REFER
            else:
                rights = _READ_FILE | _WRITE_FILE | _IOCTL_DEV | _TRUNCATE
            _allow(int(ruleset), path, rights & handled)
        if (
            _libc.syscall(_SYS_LANDLOCK_RESTRICT_SELF, ctypes.c_int(ruleset), ctypes.c_uint32(0))
            != 0
        ):
            raise SandboxError(f"landlock_restrict_self: {os.strerror(ctypes.get_errno())}")
    finally:
        os.close(int(ruleset))


def _allow(ruleset: int, path: str, rights: int) -> None:
    try:
        fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
    except OSError:
        return  # a path that does not exist here grants nothing
    try:
        if not os.path.isdir(path):
            rights &= _FILE_RIGHTS  # directory rights on a file: EINVAL
        # struct landlock_path_beneath_attr { __u64 allowed_access; __s32 parent_fd; } packed
        attr = ctypes.create_string_buffer(struct.pack("=Qi", rights, fd), 12)
        if (
            _libc.syscall(
                _SYS_LANDLOCK_ADD_RULE,
                ctypes.c_int(ruleset),
                ctypes.c_int(_LANDLOCK_RULE_PATH_BENEATH),
                attr,
                ctypes.c_uint32(0),
            )
            != 0
        ):
            raise SandboxError(f"landlock_add_rule({path}): {os.strerror(ctypes.get_errno())}")
    finally:
        os.close(fd)


# --- seccomp ------------------------------------------------------------------------------

# AUDIT_ARCH value and the syscall numbers the filter names, per architecture
_ARCHES: dict[str, tuple[int, dict[str, int]]] = {
    "x86_64": (
        0xC000003E,
        {
            "socket": 41,
            "socketpair": 53,
            "ptrace": 101,
            "process_vm_readv": 310,
            "process_vm_writev": 311,
            "kill": 62,
            "tkill": 200,
            "tgkill": 234,
            "pidfd_send_signal": 424,
            "setsid": 112,
            "setpgid": 109,
        },
    ),
    "aarch64": (
        0xC00000B7,
        {
            "socket": 198,
            "socketpair": 199,
            "ptrace": 117,
            "process_vm_readv": 270,
            "process_vm_writev": 271,
            "kill": 129,
            "tkill": 130,
            "tgkill": 131,
            "pidfd_send_signal": 424,
            "setsid": 157,
            "setpgid": 154,
        },
    ),
    "armv7l": (
        0x40000028,
        {
            "socket": 281,
            "socketpair": 288,
            "ptrace": 26,
            "process_vm_readv": 376,
            "process_vm_writev": 377,
            "kill": 37,
            "tkill": 238,
            "tgkill": 268,
            "pidfd_send_signal": 424,
            "setsid": 66,
            "setpgid": 57,
            "socketcall": 102,
        },
    ),
}
_LD_W_ABS, _JEQ_K, _JGE_K, _RET_K = 0x20, 0x15, 0x35, 0x06
_ALLOW = 0x7FFF0000
_DENY = 0x00050000 | errno.EPERM
_AF_UNIX = 1
_X32_BIT = 0x40000000


def _seccomp() -> bool:
    arch = _ARCHES.get(platform.machine())
    if arch is None:
        return False
    audit_arch, nr = arch
    me = os.getpid()
    # (code, jump-if-true label, jump-if-false label, k); labels resolved below
    prog: list[tuple[int, str | int, str | int, int]] = [
        (_LD_W_ABS, 0, 0, 4),  # arch
        (_JEQ_K, 0, "deny", audit_arch),
        (_LD_W_ABS, 0, 0, 0),  # syscall number
    ]
    if audit_arch == 0xC000003E:
        prog.append((_JGE_K, "deny", 0, _X32_BIT))
    for name in (
        "ptrace",
        "process_vm_readv",
        "process_vm_writev",
        "tkill",
        "pidfd_send_signal",
        "setsid",
        "setpgid",
        "socketcall",
    ):
        if name in nr:
            prog.append((_JEQ_K, "deny", 0, nr[name]))
    prog += [
        # socketpair stays: an unnamed pair reaches nothing (asyncio's self-pipe is one)
        (_JEQ_K, "first_arg_not_unix", 0, nr["socket"]),
        (_JEQ_K, "first_arg_is_me", 0, nr["kill"]),
        (_JEQ_K, "first_arg_is_me", 0, nr["tgkill"]),
        (_RET_K, 0, 0, _ALLOW),
    ]
    labels = {"first_arg_not_unix": len(prog)}
    prog += [(_LD_W_ABS, 0, 0, 16), (_JEQ_K, "deny", 0, _AF_UNIX), (_RET_K, 0, 0, _ALLOW)]
    labels["first_arg_is_me"] = len(prog)
    prog += [
        (_LD_W_ABS, 0, 0, 16),
        (_JEQ_K, "allow", 0, me),
        (_JEQ_K, "allow", 0, 0),  # kill(0, sig): its own process group
        (_JEQ_K, "allow", "deny", (-me) & 0xFFFFFFFF),
    ]
    labels["allow"] = len(prog)
    prog.append((_RET_K, 0, 0, _ALLOW))
    labels["deny"] = len(prog)
    prog.append((_RET_K, 0, 0, _DENY))

    def offset(at: int, target: str | int) -> int:
        return 0 if isinstance(target, int) else labels[target] - at - 1

    raw = b"".join(
        struct.pack("=HBBI", code, offset(i, jt), offset(i, jf), k)
        for i, (code, jt, jf, k) in enumerate(prog)
    )
    filters = ctypes.create_string_buffer(raw, len(raw))

    class SockFprog(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]

    fprog = SockFprog(len(prog), ctypes.cast(filters, ctypes.c_void_p))
    if _libc.prctl(_PR_SET_SECCOMP, _SECCOMP_MODE_FILTER, ctypes.byref(fprog), 0, 0) != 0:
        code = ctypes.get_errno()
        if code in (errno.EINVAL, errno.ENOSYS):
            return False  # a kernel without seccomp filters
        raise SandboxError(f"seccomp: {os.strerror(code)}")
    return True
