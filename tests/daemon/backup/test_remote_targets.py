"""End to end against real servers on loopback: an SFTP server (sshd) and an S3 one (moto)."""

from __future__ import annotations

from pathlib import Path

import pytest
from selfdata.backup import BackupError, open_target, restore, run_backup, snapshots
from selfdata.backup.targets import TargetError
from selfdata.box import Box
from selfdata.errors import InputError
from selfdata.paths import DataDir

from ...conftest import PASSPHRASE
from ..archive.sample import CANARY, chunks, contents, populate
from .conftest import S3Server, SftpServer, free_port


async def round_trip(
    box: Box, recovery: str, tmp_path: Path, url: str, options: dict, secrets: dict
) -> None:
    await populate(box, files=2)
    target = await open_target(url, options, secrets)
    try:
        first = await run_backup(box, target)
        assert first.blobs_sent == 2
        assert first.verified_blobs == 2
        await box.files.save("later.pdf", chunks(b"%PDF later" * 3000))
        second = await run_backup(box, target)
        assert second.blobs_sent == 1
        assert second.blobs == 3
        listed = await snapshots(target, recovery)
        assert [s["id"] for s in listed][-1] == second.snapshot
    finally:
        await target.close()
    new = await Box.open(DataDir(tmp_path / "new-box"))
    try:
        target = await open_target(url, options, secrets)
        try:
            await restore(new, target, recovery)
        finally:
            await target.close()
        await new.unlock(PASSPHRASE)
        assert await contents(new) == await contents(box)
        assert (await new.fsck()).ok
    finally:
        await new.close()


@pytest.fixture
async def box_and_key(data_dir: DataDir) -> tuple[Box, str]:
    box = await Box.open(data_dir)
    recovery = await box.init(PASSPHRASE)
    yield box, recovery  # type: ignore[misc]
    await box.close()


async def test_sftp_backup_and_restore(
    box_and_key: tuple[Box, str], tmp_path: Path, sftp_server: SftpServer
) -> None:
    box, recovery = box_and_key
    await round_trip(
        box,
        recovery,
        tmp_path,
        sftp_server.url,
        {"host_key": sftp_server.host_key},
        {"ssh_key": sftp_server.client_key},
    )
    stored = [p for p in sftp_server.root.rglob("*") if p.is_file()]
    assert any(p.name.endswith(".db") for p in stored)
    assert not any(CANARY.encode() in p.read_bytes() for p in stored)
    assert not any(p.name.endswith(".partial") for p in stored)


async def test_sftp_refuses_a_server_with_another_host_key(
    box: Box, sftp_server: SftpServer, tmp_path: Path
) -> None:
    other = tmp_path / "other"
    import subprocess

    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(other)], check=True)  # noqa: ASYNC221
    with pytest.raises(TargetError, match="host key"):
        await open_target(
            sftp_server.url,
            {"host_key": (tmp_path / "other.pub").read_text()},
            {"ssh_key": sftp_server.client_key},
        )
    with pytest.raises(InputError, match="host key"):
        await open_target(sftp_server.url, {}, {"ssh_key": sftp_server.client_key})


async def test_sftp_with_a_wrong_key_or_no_server_is_a_clear_error(
    box: Box, sftp_server: SftpServer, tmp_path: Path
) -> None:
    import subprocess

    subprocess.run(  # noqa: ASYNC221
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(tmp_path / "k")], check=True
    )
    with pytest.raises(TargetError, match="refused the key"):
        await open_target(
            sftp_server.url,
            {"host_key": sftp_server.host_key},
            {"ssh_key": (tmp_path / "k").read_text()},
        )
    closed = f"sftp://someone@127.0.0.1:{free_port()}/backups"
    with pytest.raises(TargetError, match="cannot connect"):
        await open_target(
            closed, {"host_key": sftp_server.host_key}, {"ssh_key": sftp_server.client_key}
        )


def s3_settings(server: S3Server, secret: str = "selfdata-secret") -> tuple[str, dict, dict]:
    return (
        f"s3://{server.bucket}/box1",
        {"endpoint": server.endpoint, "access_key": "selfdata", "region": "us-east-1"},
        {"secret_key": secret},
    )


async def test_s3_backup_and_restore(
    box_and_key: tuple[Box, str], tmp_path: Path, s3_server: S3Server
) -> None:
    box, recovery = box_and_key
    url, options, secrets = s3_settings(s3_server)
    await round_trip(box, recovery, tmp_path, url, options, secrets)


async def test_s3_multipart_upload_of_a_large_file(
    box_and_key: tuple[Box, str], tmp_path: Path, s3_server: S3Server
) -> None:
    box, recovery = box_and_key
    big = bytes(range(256)) * (20 * 1024 * 1024 // 256)  # three 8 MiB parts
    await box.files.save("video.bin", chunks(big, 1024 * 1024))
    url, options, secrets = s3_settings(s3_server)
    target = await open_target(url, options, secrets)
    try:
        report = await run_backup(box, target)
        assert report.bytes_sent > len(big)
    finally:
        await target.close()
    new = await Box.open(DataDir(tmp_path / "new-box"))
    try:
        target = await open_target(url, options, secrets)
        try:
            await restore(new, target, recovery)
        finally:
            await target.close()
        await new.unlock(PASSPHRASE)
        assert await contents(new) == await contents(box)
    finally:
        await new.close()


async def test_s3_unreachable_or_missing_bucket_is_a_clear_error(
    box: Box, s3_server: S3Server
) -> None:
    url, options, secrets = s3_settings(s3_server)
    with pytest.raises(TargetError, match="no bucket"):
        await open_target("s3://no-such-bucket/x", options, secrets)
    with pytest.raises(TargetError, match="cannot reach"):
        await open_target(url, options | {"endpoint": f"http://127.0.0.1:{free_port()}"}, secrets)
    with pytest.raises(InputError, match="secret key"):
        await open_target(url, options, {})


async def test_a_target_that_fails_mid_backup_leaves_the_previous_snapshot(
    box: Box, s3_server: S3Server, tmp_path: Path
) -> None:
    await populate(box, files=1)
    url, options, secrets = s3_settings(s3_server)
    target = await open_target(url, options, secrets)
    try:
        first = await run_backup(box, target)

        async def broken(name: str, chunks_: object) -> int:
            raise TargetError("connection reset by peer")

        target.put = broken  # type: ignore[method-assign]
        await box.files.save("new.pdf", chunks(b"%PDF new"))
        with pytest.raises(BackupError, match="connection reset"):
            await run_backup(box, target)
    finally:
        await target.close()
    target = await open_target(url, options, secrets)
    try:
        from selfdata.backup.repository import list_snapshots

        assert await list_snapshots(target) == [first.snapshot]
    finally:
        await target.close()
