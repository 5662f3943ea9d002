"""Local folders and S3 (through boto3), behind the same few functions.

S3 uses the standard credential chain; ``storage.s3_endpoint_url`` (or
``AWS_ENDPOINT_URL``) points it at MinIO, LocalStack or a test server.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ml.core.config import Settings
from ml.core.errors import StorageError, s3_error

logger = logging.getLogger(__name__)

S3_SCHEME = "s3://"


@dataclass(frozen=True)
class S3Url:
    """An ``s3://bucket/key`` address."""

    bucket: str
    key: str

    @classmethod
    def parse(cls, url: str) -> S3Url:
        """Split ``s3://bucket/key`` into its parts.

        Raises:
            StorageError: The URL has no bucket.
        """
        if not url.startswith(S3_SCHEME):
            raise StorageError(f"{url} is not an s3:// URL.")
        bucket, _, key = url[len(S3_SCHEME) :].partition("/")
        if not bucket:
            raise StorageError(f"{url} names no bucket: use s3://bucket/key.")
        return cls(bucket, key)

    def __str__(self) -> str:
        return f"{S3_SCHEME}{self.bucket}/{self.key}"


def is_s3(location: str) -> bool:
    """Whether ``location`` is an ``s3://`` URL."""
    return location.startswith(S3_SCHEME)


def s3_client(settings: Settings) -> Any:
    """A boto3 S3 client with the configured endpoint and region."""
    import boto3
    from botocore.config import Config

    return boto3.client(
        "s3",
        endpoint_url=settings.storage.s3_endpoint_url,
        region_name=settings.storage.s3_region,
        config=Config(retries={"max_attempts": 5, "mode": "standard"}),
    )


def list_s3(settings: Settings, url: str) -> list[S3Url]:
    """Objects at ``url``: the object itself, or every object under a prefix.

    Raises:
        StorageError: Nothing is there, or S3 refused the request.
    """
    from botocore.exceptions import BotoCoreError, ClientError

    target = S3Url.parse(url)
    client = s3_client(settings)
    try:
        pages = client.get_paginator("list_objects_v2").paginate(
            Bucket=target.bucket, Prefix=target.key
        )
        keys = [item["Key"] for page in pages for item in page.get("Contents", [])]
    except (BotoCoreError, ClientError) as exc:
        raise s3_error(f"Cannot list {url}", exc) from None
    if target.key in keys:
        return [target]
    found = [S3Url(target.bucket, key) for key in keys if not key.endswith("/")]
    if not found:
        raise StorageError(f"Nothing found at {url}.")
    return found


def download(settings: Settings, url: S3Url, folder: Path) -> Path:
    """Copy one S3 object into ``folder`` (boto3 retries transient errors).

    Raises:
        StorageError: The object cannot be read.
    """
    from botocore.exceptions import BotoCoreError, ClientError

    target = folder / url.key.replace("/", "__")
    try:
        s3_client(settings).download_file(url.bucket, url.key, str(target))
    except (BotoCoreError, ClientError) as exc:
        raise s3_error(f"Cannot read {url}", exc) from None
    return target


def local_files(location: str, suffixes: tuple[str, ...]) -> Iterator[Path]:
    """The file at ``location``, or the files with ``suffixes`` in that folder.

    Raises:
        StorageError: The path does not exist or holds no matching file.
    """
    path = Path(location).expanduser()
    if path.is_file():
        yield path
        return
    if not path.is_dir():
        raise StorageError(f"{location} does not exist.")
    found = sorted(
        item
        for item in path.rglob("*")
        if item.is_file() and item.name.endswith(suffixes)
    )
    if not found:
        raise StorageError(f"{location} holds no file ending in {', '.join(suffixes)}.")
    yield from found
