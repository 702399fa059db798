"""The box's HTTPS certificate: self-signed, made on first start, pinned by fingerprint.

Browsers on the LAN cannot get a public certificate for ``selfdata.local``, so the box
makes its own and shows its SHA-256 fingerprint where the owner can compare it: the
CLI (``selfdata status``), the console, and the mDNS TXT record.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
import os
import socket
import ssl
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Certificate", "ensure_certificate", "fingerprint_of", "server_context"]

_VALID_DAYS = 3650


@dataclass(frozen=True)
class Certificate:
    cert_path: Path
    key_path: Path
    fingerprint: str  # sha256 of the DER certificate, hex with colons

    @property
    def short_fingerprint(self) -> str:
        return self.fingerprint.replace(":", "").lower()


def ensure_certificate(tls_dir: Path, hostname: str | None = None) -> Certificate:
    tls_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    cert_path, key_path = tls_dir / "cert.pem", tls_dir / "key.pem"
    if not (cert_path.exists() and key_path.exists()):
        _generate_in_child(cert_path, key_path, hostname or socket.gethostname())
    return Certificate(cert_path, key_path, fingerprint_of(cert_path.read_bytes()))


def fingerprint_of(pem: bytes) -> str:
    try:
        der = ssl.PEM_cert_to_DER_cert(pem.decode("ascii"))
    except (UnicodeDecodeError, ValueError) as err:
        raise ValueError("not a PEM certificate") from err
    return ":".join(f"{b:02X}" for b in hashlib.sha256(der).digest())


def server_context(cert: Certificate) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert.cert_path, cert.key_path)
    return context


def _generate_in_child(cert_path: Path, key_path: Path, hostname: str) -> None:
    """:func:`_generate` in a child process: importing cryptography costs 8 MB of memory
    for good, and the daemon that makes its certificate on first start may then run for
    months; a child gives it all back (and costs ~0.3 s, once)."""
    done = subprocess.run(
        [sys.executable, "-I", "-m", "selfdata.tls", str(cert_path), str(key_path), hostname],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if done.returncode != 0:
        detail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise OSError(f"could not make the HTTPS certificate in {cert_path.parent}: {detail}")


def _generate(cert_path: Path, key_path: Path, hostname: str) -> None:
    from cryptography import x509  # noqa: PLC0415
    from cryptography.hazmat.primitives import hashes, serialization  # noqa: PLC0415
    from cryptography.hazmat.primitives.asymmetric import ec  # noqa: PLC0415
    from cryptography.x509.oid import NameOID  # noqa: PLC0415

    key = ec.generate_private_key(ec.SECP256R1())
    short = hostname.split(".", maxsplit=1)[0] or "selfdata"
    names: list[x509.GeneralName] = [
        x509.DNSName(n)
        for n in dict.fromkeys([f"{short}.local", "selfdata.local", short, "localhost"])
    ]
    names += [x509.IPAddress(ipaddress.ip_address(a)) for a in ("127.0.0.1", "::1")]
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"{short}.local")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        # A Pi without RTC may boot in 1970: start validity far back so it is never "not yet valid".
        .not_valid_before(dt.datetime(2000, 1, 1, tzinfo=dt.UTC))
        .not_valid_after(now + dt.timedelta(days=_VALID_DAYS))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    _write_private(key_path, key_pem)
    _write_private(cert_path, cert.public_bytes(serialization.Encoding.PEM), mode=0o644)


def _write_private(path: Path, data: bytes, mode: int = 0o600) -> None:
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


if __name__ == "__main__":  # the child of _generate_in_child
    _generate(Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3])
