"""Every error selfdata reports to a person, with a message meant for them.

    SelfdataError                 base; ``str(err)`` is a one-line, user-facing message
    ├── VaultError
    │   ├── NotInitialized        no vault yet: run ``selfdata init`` or the web setup
    │   ├── AlreadyInitialized
    │   ├── Locked                the box is locked: unlock it first
    │   ├── WrongPassphrase       also used for a wrong recovery key or setup code
    │   ├── TooManyAttempts       login backoff: wait ``retry_after`` seconds
    │   └── WeakPassphrase
    ├── IntegrityError            a ciphertext or file failed authentication
    ├── StoreError
    │   ├── NotFound
    │   ├── Conflict              stale ``_rev`` on update
    │   └── StoreBusy             another process holds the data dir
    ├── DoctypeError
    │   ├── UnknownDoctype
    │   └── ValidationError       a document does not match its doctype's schema
    ├── InputError                malformed request, file or argument
    ├── DaemonError               the CLI could not talk to the running daemon
    └── RemoteError               a remote service (e.g. an open-data collector) refused

Library exceptions are converted at the boundary (``raise X(...) from err``) so that
callers only ever see these. HTTP status codes for the API live with each class.
"""

from __future__ import annotations

__all__ = [
    "AlreadyInitialized",
    "Conflict",
    "DaemonError",
    "DoctypeError",
    "InputError",
    "IntegrityError",
    "Locked",
    "NotFound",
    "NotInitialized",
    "RemoteError",
    "SelfdataError",
    "StoreBusy",
    "StoreError",
    "TooManyAttempts",
    "UnknownDoctype",
    "ValidationError",
    "VaultError",
    "WeakPassphrase",
    "WrongPassphrase",
    "from_code",
]


class SelfdataError(Exception):
    """Base class. ``http_status`` is what the API answers for it."""

    http_status = 500
    code = "error"

    def __init__(self, message: str, **details: object) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class VaultError(SelfdataError):
    http_status = 409
    code = "vault"


class NotInitialized(VaultError):
    code = "not_initialized"

    def __init__(
        self, message: str = "no vault here yet: run `selfdata init` or open the web setup"
    ) -> None:
        super().__init__(message)


class AlreadyInitialized(VaultError):
    code = "already_initialized"

    def __init__(self, message: str = "this box already has a vault") -> None:
        super().__init__(message)


class Locked(VaultError):
    http_status = 423
    code = "locked"

    def __init__(
        self, message: str = "the box is locked: unlock it with your passphrase first"
    ) -> None:
        super().__init__(message)


class WrongPassphrase(VaultError):
    http_status = 403
    code = "wrong_secret"

    def __init__(self, message: str = "wrong passphrase") -> None:
        super().__init__(message)


class TooManyAttempts(VaultError):
    http_status = 429
    code = "too_many_attempts"

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many wrong attempts: try again in {retry_after} s")
        self.retry_after = retry_after


class WeakPassphrase(VaultError):
    http_status = 400
    code = "weak_passphrase"


class IntegrityError(SelfdataError):
    code = "integrity"


class StoreError(SelfdataError):
    code = "store"


class NotFound(StoreError):
    http_status = 404
    code = "not_found"


class Conflict(StoreError):
    http_status = 409
    code = "conflict"


class StoreBusy(StoreError):
    http_status = 503
    code = "busy"


class DoctypeError(SelfdataError):
    http_status = 400
    code = "doctype"


class UnknownDoctype(DoctypeError):
    http_status = 404
    code = "unknown_doctype"


class ValidationError(DoctypeError):
    http_status = 422
    code = "invalid_document"


class InputError(SelfdataError):
    http_status = 400
    code = "bad_input"


class DaemonError(SelfdataError):
    code = "daemon"


class RemoteError(SelfdataError):
    http_status = 502
    code = "remote"


def from_code(code: str, message: str) -> SelfdataError:
    """The error a daemon reported (by its ``code``), rebuilt on the CLI's side."""
    stack: list[type[SelfdataError]] = [SelfdataError]
    while stack:
        cls = stack.pop()
        if cls.code == code:
            err = cls.__new__(cls)
            SelfdataError.__init__(err, message)
            return err
        stack.extend(cls.__subclasses__())
    return SelfdataError(message)
