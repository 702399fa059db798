"""Real backup servers on loopback: OpenSSH's sshd (SFTP) and moto's S3 server.

MinIO and Garage are packaged neither by Debian nor on PyPI, so the S3-compatible server
is moto's (``moto[server]``, a real HTTP server speaking the S3 protocol, signatures
included); SFTP is Debian's own ``sshd`` (openssh-server, in tests/debian-packages.txt)
with a throwaway host key and client key, listening on 127.0.0.1 only.
"""

from __future__ import annotations

import getpass
import logging
import os
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from ...conftest import missing_tool

SSHD = shutil.which("sshd") or "/usr/sbin/sshd"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class SftpServer:
    url: str
    host_key: str
    client_key: str
    root: Path
    port: int


@pytest.fixture
def sftp_server(tmp_path: Path) -> Iterator[SftpServer]:
    if not os.path.exists(SSHD):
        missing_tool("openssh-server is not installed (see tests/debian-packages.txt)")
    keys = tmp_path / "ssh"
    keys.mkdir(mode=0o700)
    for name in ("host", "client"):
        subprocess.run(
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(keys / name)], check=True
        )
    (keys / "authorized_keys").write_text((keys / "client.pub").read_text())
    (keys / "authorized_keys").chmod(0o600)
    root = tmp_path / "sftp-root"
    root.mkdir()
    port = free_port()
    config = keys / "sshd_config"
    config.write_text(
        f"Port {port}\nListenAddress 127.0.0.1\nHostKey {keys / 'host'}\n"
        f"AuthorizedKeysFile {keys / 'authorized_keys'}\nPidFile {keys / 'sshd.pid'}\n"
        "PasswordAuthentication no\nKbdInteractiveAuthentication no\n"
        "PermitRootLogin prohibit-password\nStrictModes no\nUsePAM no\n"
        "Subsystem sftp internal-sftp\n"
    )
    if os.geteuid() == 0:
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # privilege separation dir
    proc = subprocess.Popen(
        [SSHD, "-D", "-e", "-f", str(config)], stderr=subprocess.PIPE, stdout=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"sshd exited: {proc.stderr.read().decode()}")  # type: ignore[union-attr]
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                break
        time.sleep(0.05)
    host_key = (keys / "host.pub").read_text().strip()
    try:
        yield SftpServer(
            url=f"sftp://{getpass.getuser()}@127.0.0.1:{port}{root}",
            host_key=host_key,
            client_key=(keys / "client").read_text(),
            root=root,
            port=port,
        )
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        if proc.stderr:
            proc.stderr.close()


@dataclass
class S3Server:
    endpoint: str
    bucket: str


@pytest.fixture
def s3_server() -> Iterator[S3Server]:
    try:
        import moto.server as moto_server
    except ImportError:
        missing_tool("moto[server] is not installed (pip install -e '.[test]')")
    import boto3
    from botocore.config import Config

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id="selfdata",
        aws_secret_access_key="selfdata-secret",
        region_name="us-east-1",
        config=Config(s3={"addressing_style": "path"}),
    )
    bucket = f"selfdata-{uuid.uuid4().hex[:12]}"  # moto keeps one state per process
    client.create_bucket(Bucket=bucket)
    client.close()
    try:
        yield S3Server(endpoint, bucket)
    finally:
        server.stop()
