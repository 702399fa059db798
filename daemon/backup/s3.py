"""Backups to an S3-compatible object store (Garage, MinIO, any cloud), with boto3.

boto3 (Debian: python3-boto3) is synchronous: each call runs in a worker thread. Objects
bigger than one part are sent as a multipart upload of 8 MiB parts, so memory holds one
part whatever the size of the file; an object exists only once its upload completes.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterable, AsyncIterator, Mapping
from typing import Any
from urllib.parse import SplitResult, unquote

from ..errors import InputError
from .targets import TargetError, check_name

__all__ = ["S3Target"]

PART = 8 * 1024 * 1024
READ = 1024 * 1024


class S3Target:
    def __init__(self, client: Any, bucket: str, prefix: str, label: str) -> None:
        self._client = client
        self.bucket = bucket
        self.prefix = prefix
        self.label = label

    @classmethod
    async def connect(
        cls, parts: SplitResult, options: Mapping[str, str], secret: Mapping[str, str]
    ) -> S3Target:
        import boto3  # noqa: PLC0415 - heavy: only for S3 targets
        from botocore.config import Config  # noqa: PLC0415

        bucket = parts.hostname
        if not bucket:
            raise InputError("an S3 target is s3://bucket[/prefix]")
        prefix = unquote(parts.path).strip("/")
        label = f"s3://{bucket}/{prefix}" + (
            f" at {options['endpoint']}" if options.get("endpoint") else ""
        )
        if not options.get("access_key") or not secret.get("secret_key"):
            raise InputError(f"{label}: give the access key and its secret key")
        config = Config(
            signature_version="s3v4",
            s3={"addressing_style": "path"},
            retries={"max_attempts": 3, "mode": "standard"},
            connect_timeout=15,
            read_timeout=60,
        )
        client = await asyncio.to_thread(
            boto3.client,
            "s3",
            endpoint_url=options.get("endpoint") or None,
            region_name=options.get("region") or "us-east-1",
            aws_access_key_id=options["access_key"],
            aws_secret_access_key=secret["secret_key"],
            config=config,
        )
        target = cls(client, bucket, prefix, label)
        await target._call("head_bucket", Bucket=bucket)
        return target

    def _key(self, name: str) -> str:
        check_name(name)
        return f"{self.prefix}/{name}" if self.prefix else name

    async def _call(self, method: str, **kwargs: Any) -> Any:
        from botocore.exceptions import BotoCoreError, ClientError  # noqa: PLC0415

        try:
            return await asyncio.to_thread(getattr(self._client, method), **kwargs)
        except ClientError as err:
            code = err.response.get("Error", {}).get("Code", "")
            if code in ("NoSuchBucket", "404") and method == "head_bucket":
                raise TargetError(f"{self.label}: no bucket {self.bucket!r} there") from None
            if code in ("NoSuchKey", "404"):
                raise TargetError(f"{self.label}: {kwargs.get('Key', '')} is missing") from None
            if code in ("AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "403"):
                raise TargetError(f"{self.label}: the keys were refused ({code})") from None
            raise TargetError(f"{self.label}: {method} failed ({code or err})") from None
        except BotoCoreError as err:
            raise TargetError(f"{self.label}: cannot reach the object store ({err})") from None

    async def put(self, name: str, chunks: AsyncIterable[bytes]) -> int:
        key = self._key(name)
        buffer = bytearray()
        upload: str | None = None
        parts: list[dict[str, Any]] = []
        size = 0
        try:
            async for chunk in chunks:
                buffer += chunk
                size += len(chunk)
                while len(buffer) >= PART:
                    if upload is None:
                        created = await self._call(
                            "create_multipart_upload", Bucket=self.bucket, Key=key
                        )
                        upload = str(created["UploadId"])
                    body = bytes(buffer[:PART])
                    del buffer[:PART]
                    answer = await self._call(
                        "upload_part",
                        Bucket=self.bucket,
                        Key=key,
                        UploadId=upload,
                        PartNumber=len(parts) + 1,
                        Body=body,
                    )
                    parts.append({"ETag": answer["ETag"], "PartNumber": len(parts) + 1})
            if upload is None:
                await self._call("put_object", Bucket=self.bucket, Key=key, Body=bytes(buffer))
                return size
            if buffer:
                answer = await self._call(
                    "upload_part",
                    Bucket=self.bucket,
                    Key=key,
                    UploadId=upload,
                    PartNumber=len(parts) + 1,
                    Body=bytes(buffer),
                )
                parts.append({"ETag": answer["ETag"], "PartNumber": len(parts) + 1})
            await self._call(
                "complete_multipart_upload",
                Bucket=self.bucket,
                Key=key,
                UploadId=upload,
                MultipartUpload={"Parts": parts},
            )
            upload = None
        finally:
            if upload is not None:  # never leave an incomplete upload behind (it costs)
                with contextlib.suppress(Exception):
                    await self._call(
                        "abort_multipart_upload", Bucket=self.bucket, Key=key, UploadId=upload
                    )
        return size

    async def get(self, name: str) -> AsyncIterator[bytes]:
        answer = await self._call("get_object", Bucket=self.bucket, Key=self._key(name))
        body = answer["Body"]
        try:
            while True:
                try:
                    data = await asyncio.to_thread(body.read, READ)
                except Exception as err:  # a dropped connection mid-object
                    raise TargetError(f"{self.label}: reading {name} failed ({err})") from None
                if not data:
                    return
                yield data
        finally:
            body.close()

    async def list(self, prefix: str) -> dict[str, int]:
        found: dict[str, int] = {}
        start = (
            self._key(prefix.rstrip("/")) + "/"
            if prefix
            else (f"{self.prefix}/" if self.prefix else "")
        )
        token: str | None = None
        cut = len(self.prefix) + 1 if self.prefix else 0
        while True:
            kwargs: dict[str, Any] = {"Bucket": self.bucket, "Prefix": start}
            if token:
                kwargs["ContinuationToken"] = token
            page = await self._call("list_objects_v2", **kwargs)
            for item in page.get("Contents", []):
                found[str(item["Key"])[cut:]] = int(item["Size"])
            if not page.get("IsTruncated"):
                return found
            token = page.get("NextContinuationToken")

    async def delete(self, name: str) -> None:
        await self._call("delete_object", Bucket=self.bucket, Key=self._key(name))

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await asyncio.to_thread(self._client.close)
