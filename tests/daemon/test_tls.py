"""The HTTPS certificate: made once, by a child process, so the daemon never holds cryptography."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from cryptography import x509
from selfdata.tls import ensure_certificate, fingerprint_of, server_context

MAKE_AND_REPORT = """
import sys
from pathlib import Path
from selfdata.tls import ensure_certificate
cert = ensure_certificate(Path(sys.argv[1]), "mybox")
print(cert.fingerprint)
print("cryptography" in sys.modules)
"""


def test_the_first_start_makes_a_certificate_without_importing_cryptography(
    tmp_path: Path,
) -> None:
    tls_dir = tmp_path / "tls"
    out = subprocess.run(
        [sys.executable, "-c", MAKE_AND_REPORT, str(tls_dir)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert out[1] == "False"
    cert = ensure_certificate(tls_dir)  # made already: read, not made again
    assert cert.fingerprint == out[0] == fingerprint_of((tls_dir / "cert.pem").read_bytes())
    assert (tls_dir / "key.pem").stat().st_mode & 0o777 == 0o600
    assert not list(tls_dir.glob("*.tmp"))
    server_context(cert)  # the key matches the certificate
    made = x509.load_pem_x509_certificate((tls_dir / "cert.pem").read_bytes())
    names = made.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert {"mybox.local", "selfdata.local", "localhost"} <= set(
        names.get_values_for_type(x509.DNSName)
    )


def test_a_certificate_that_cannot_be_made_is_a_clear_error(tmp_path: Path) -> None:
    tls_dir = tmp_path / "tls"
    (tls_dir / "key.tmp").mkdir(parents=True)  # where the child writes the key first
    with pytest.raises(OSError, match="could not make the HTTPS certificate"):
        ensure_certificate(tls_dir, "mybox")
    assert not (tls_dir / "cert.pem").exists()
