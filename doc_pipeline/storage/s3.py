from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from doc_pipeline.storage.base import ObjectInfo, ObjectStore, StorageError


def _is_missing(exc: ClientError) -> bool:
    return exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound")


class S3ObjectStore(ObjectStore):
    """Any S3-compatible bucket (AWS, MinIO). botocore's adaptive retry mode gives bounded retries with
    backoff on throttling and 5xx; after that a StorageError carries the reason."""

    name = "s3"

    def __init__(self, bucket: str, endpoint_url: str | None = None, region: str = "us-east-1", prefix: str = "",
                 max_attempts: int = 5, connect_timeout: float = 5, read_timeout: float = 30):
        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        cfg = Config(retries={"max_attempts": max_attempts, "mode": "adaptive"},
                     connect_timeout=connect_timeout, read_timeout=read_timeout,
                     s3={"addressing_style": "path"} if endpoint_url else None)
        self.client = boto3.client("s3", endpoint_url=endpoint_url, region_name=region, config=cfg)

    def _k(self, key: str) -> str:
        return self.prefix + key

    def _call(self, what: str, fn, *args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except ClientError as exc:
            if _is_missing(exc):
                raise KeyError(what) from exc
            raise StorageError(f"S3 {what}: {exc.response.get('Error', {}).get('Message', exc)}") from exc
        except BotoCoreError as exc:
            raise StorageError(f"S3 {what}: {exc}") from exc

    def ensure_bucket(self) -> None:
        try:
            self.client.head_bucket(Bucket=self.bucket)
        except ClientError:
            self._call("create_bucket", self.client.create_bucket, Bucket=self.bucket)

    def put_bytes(self, key: str, data: bytes, content_type: str | None = None) -> None:
        extra = {"ContentType": content_type} if content_type else {}
        self._call(key, self.client.put_object, Bucket=self.bucket, Key=self._k(key), Body=data, **extra)

    def put_stream(self, key: str, stream: BinaryIO, content_type: str | None = None) -> int:
        counted = _CountingReader(stream)
        extra = {"ContentType": content_type} if content_type else {}
        # upload_fileobj streams in multipart chunks; S3 shows the object only once it completes
        self._call(key, self.client.upload_fileobj, counted, self.bucket, self._k(key), ExtraArgs=extra)
        return counted.n

    def get_bytes(self, key: str) -> bytes:
        obj = self._call(key, self.client.get_object, Bucket=self.bucket, Key=self._k(key))
        return obj["Body"].read()

    def get_range(self, key: str, start: int, length: int) -> bytes:
        if length <= 0:
            return b""
        try:
            obj = self._call(key, self.client.get_object, Bucket=self.bucket, Key=self._k(key),
                             Range=f"bytes={start}-{start + length - 1}")
        except StorageError:
            # zero-byte objects answer 416 to any range
            info = self.stat(key)
            if info is not None and info.size == 0:
                return b""
            raise
        return obj["Body"].read()

    def download_to(self, key: str, path: str) -> None:
        self._call(key, self.client.download_file, self.bucket, self._k(key), path)

    def stat(self, key: str) -> ObjectInfo | None:
        try:
            h = self._call(key, self.client.head_object, Bucket=self.bucket, Key=self._k(key))
        except KeyError:
            return None
        return ObjectInfo(key=key, size=h["ContentLength"], last_modified=h["LastModified"].timestamp(),
                          etag=h.get("ETag", "").strip('"'))

    def list(self, prefix: str) -> Iterator[ObjectInfo]:
        paginator = self.client.get_paginator("list_objects_v2")
        try:
            for page in paginator.paginate(Bucket=self.bucket, Prefix=self._k(prefix)):
                for o in page.get("Contents", []):
                    yield ObjectInfo(key=o["Key"][len(self.prefix):], size=o["Size"],
                                     last_modified=o["LastModified"].timestamp(), etag=o.get("ETag", "").strip('"'))
        except (ClientError, BotoCoreError) as exc:
            raise StorageError(f"S3 list {prefix}: {exc}") from exc

    def delete(self, key: str) -> None:
        self._call(key, self.client.delete_object, Bucket=self.bucket, Key=self._k(key))

    def presign_put(self, key: str, expires: int = 3600, content_type: str | None = None) -> str | None:
        params = {"Bucket": self.bucket, "Key": self._k(key)}
        if content_type:
            params["ContentType"] = content_type
        return self.client.generate_presigned_url("put_object", Params=params, ExpiresIn=expires)


class _CountingReader:
    def __init__(self, stream: BinaryIO):
        self.stream = stream
        self.n = 0

    def read(self, size: int = -1) -> bytes:
        data = self.stream.read(size)
        self.n += len(data)
        return data
