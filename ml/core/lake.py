"""The lake: a local folder or an S3 prefix, behind one small interface.

Exports, scores and model artifacts are written as files under keys such as
``egress/ml_training_set/export_time=.../part-00000.parquet``. Writers put
every data file first and a ``_manifest.json`` last; readers trust a folder
only when its manifest exists and every file it lists matches its checksum,
so a half-written folder (a killed writer) is never picked up.
"""

from __future__ import annotations

import builtins
import hashlib
import json
import logging
import shutil
from abc import ABC, abstractmethod
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ml.core import storage
from ml.core.config import Settings
from ml.core.errors import StorageError, s3_error

logger = logging.getLogger(__name__)

MANIFEST = "_manifest.json"

if TYPE_CHECKING:
    import pyarrow as pa


class Lake(ABC):
    """Files under a root, addressed by ``/``-separated keys."""

    root: str

    @abstractmethod
    def put_file(self, local: Path, key: str) -> None:
        """Copy a local file to ``key`` (replacing it)."""

    def move_file(self, local: Path, key: str) -> None:
        """Move a local file to ``key`` (the local file is gone afterwards)."""
        self.put_file(local, key)
        local.unlink()

    @abstractmethod
    def get_file(self, key: str, local: Path) -> Path:
        """A local path holding ``key``'s content (``local`` when copied)."""

    @abstractmethod
    def list(self, prefix: str) -> builtins.list[str]:
        """Every key under ``prefix`` (recursively), sorted."""

    @abstractmethod
    def exists(self, key: str) -> bool:
        """Whether ``key`` exists."""

    @abstractmethod
    def get_bytes(self, key: str) -> bytes:
        """The content of ``key``."""

    @abstractmethod
    def put_bytes(self, key: str, data: bytes) -> None:
        """Write ``data`` to ``key`` (replacing it)."""

    @abstractmethod
    def delete(self, keys: builtins.list[str]) -> None:
        """Remove these keys (missing ones are ignored)."""

    def url(self, key: str) -> str:
        """Where ``key`` lives, for people and manifests."""
        return f"{self.root.rstrip('/')}/{key}"

    def write_manifest(self, folder: str, manifest: dict[str, Any]) -> None:
        """Write a folder's manifest: the last step of every writer."""
        text = json.dumps(manifest, indent=2, sort_keys=True, default=str)
        self.put_bytes(f"{folder}/{MANIFEST}", text.encode())

    def read_manifest(self, folder: str) -> dict[str, Any] | None:
        """A folder's manifest, or None when it has none (incomplete)."""
        key = f"{folder}/{MANIFEST}"
        if not self.exists(key):
            return None
        manifest: dict[str, Any] = json.loads(self.get_bytes(key))
        return manifest


class LocalLake(Lake):
    """A lake in a local folder; files appear whole (written, then renamed)."""

    def __init__(self, root: Path) -> None:
        self.root = str(root)
        self._root = root

    def _path(self, key: str) -> Path:
        return self._root / key

    def put_file(self, local: Path, key: str) -> None:  # noqa: D102
        target = self._path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(target.name + ".partial")
        shutil.copyfile(local, partial)
        partial.replace(target)

    def move_file(self, local: Path, key: str) -> None:  # noqa: D102
        target = self._path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(target.name + ".partial")
        shutil.move(local, partial)  # a rename on the same file system
        partial.replace(target)

    def get_file(self, key: str, local: Path) -> Path:  # noqa: D102
        if not self.exists(key):
            raise StorageError(f"{self.url(key)} does not exist.")
        return self._path(key)

    def list(self, prefix: str) -> builtins.list[str]:  # noqa: D102
        base = self._path(prefix)
        if not base.exists():
            return []
        return sorted(
            str(path.relative_to(self._root))
            for path in base.rglob("*")
            if path.is_file() and not path.name.endswith(".partial")
        )

    def exists(self, key: str) -> bool:  # noqa: D102
        return self._path(key).is_file()

    def get_bytes(self, key: str) -> bytes:  # noqa: D102
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            raise StorageError(f"{self.url(key)} does not exist.") from None

    def put_bytes(self, key: str, data: bytes) -> None:  # noqa: D102
        target = self._path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(target.name + ".partial")
        partial.write_bytes(data)
        partial.replace(target)

    def delete(self, keys: builtins.list[str]) -> None:  # noqa: D102
        for key in keys:
            self._path(key).unlink(missing_ok=True)


class S3Lake(Lake):
    """A lake under an S3 prefix, through boto3 (which retries transient errors)."""

    def __init__(self, settings: Settings, url: str) -> None:
        self.root = url.rstrip("/")
        parsed = storage.S3Url.parse(self.root)
        self.bucket, self.prefix = parsed.bucket, parsed.key.strip("/")
        self.client = storage.s3_client(settings)

    def _key(self, key: str) -> str:
        return f"{self.prefix}/{key}" if self.prefix else key

    def _call(self, action: str, key: str, function: Any, **kwargs: Any) -> Any:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return function(**kwargs)
        except (BotoCoreError, ClientError) as exc:
            raise s3_error(f"Cannot {action} {self.url(key)}", exc) from None

    def put_file(self, local: Path, key: str) -> None:  # noqa: D102
        self._call(
            "write",
            key,
            self.client.upload_file,
            Filename=str(local),
            Bucket=self.bucket,
            Key=self._key(key),
        )

    def get_file(self, key: str, local: Path) -> Path:  # noqa: D102
        self._call(
            "read",
            key,
            self.client.download_file,
            Bucket=self.bucket,
            Key=self._key(key),
            Filename=str(local),
        )
        return local

    def list(self, prefix: str) -> builtins.list[str]:  # noqa: D102
        paginator = self.client.get_paginator("list_objects_v2")
        start = len(self.prefix) + 1 if self.prefix else 0
        pages = self._call(
            "list",
            prefix,
            paginator.paginate,
            Bucket=self.bucket,
            Prefix=self._key(prefix),
        )
        keys = []
        for page in pages:
            keys += [item["Key"][start:] for item in page.get("Contents", [])]
        return sorted(keys)

    def exists(self, key: str) -> bool:  # noqa: D102
        from botocore.exceptions import ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=self._key(key))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey"):
                return False
            raise s3_error(f"Cannot read {self.url(key)}", exc) from None
        return True

    def get_bytes(self, key: str) -> bytes:  # noqa: D102
        response = self._call(
            "read",
            key,
            self.client.get_object,
            Bucket=self.bucket,
            Key=self._key(key),
        )
        data: bytes = response["Body"].read()
        return data

    def put_bytes(self, key: str, data: bytes) -> None:  # noqa: D102
        self._call(
            "write",
            key,
            self.client.put_object,
            Bucket=self.bucket,
            Key=self._key(key),
            Body=data,
        )

    def delete(self, keys: builtins.list[str]) -> None:  # noqa: D102
        for start in range(0, len(keys), 1000):  # the API's limit per call
            objects = [{"Key": self._key(key)} for key in keys[start : start + 1000]]
            self._call(
                "delete under",
                keys[start],
                self.client.delete_objects,
                Bucket=self.bucket,
                Delete={"Objects": objects, "Quiet": True},
            )


def open_lake(settings: Settings, root: str | None = None) -> Lake:
    """The configured lake (``storage.lake``, default ENRICH_HOME/lake).

    Args:
        settings: Project settings (S3 endpoint and region).
        root: Another root, e.g. where a model version's artifacts were written.
    """
    root = root or settings.lake
    if storage.is_s3(root):
        return S3Lake(settings, root)
    path = Path(root).expanduser()
    if not path.is_absolute():
        path = settings.project_dir / path
    return LocalLake(path)


def sha256_of(path: Path) -> str:
    """SHA-256 of a local file, read in blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_part(
    lake: Lake,
    table: pa.Table,
    folder: str,
    index: int,
    scratch: Path,
    dictionary: bool | list[str] = True,
) -> dict[str, Any]:
    """Write one Parquet part of a folder; return its manifest entry.

    The part is written to ``scratch`` first, checksummed, then moved to the
    lake, so memory holds one part at most. ``dictionary``: the columns to
    dictionary-encode (all by default; leave out long unique text, where
    trying costs time and saves nothing).
    """
    import pyarrow.parquet as pq

    name = f"part-{index:05d}.parquet"
    local = scratch / name
    pq.write_table(table, local, compression="zstd", use_dictionary=dictionary)
    entry = {
        "file": name,
        "rows": table.num_rows,
        "bytes": local.stat().st_size,
        "sha256": sha256_of(local),
    }
    lake.move_file(local, f"{folder}/{name}")
    return entry


def complete_folders(lake: Lake, prefix: str) -> list[tuple[str, dict[str, Any]]]:
    """Folders under ``prefix`` that have a manifest, newest first, with it.

    Folder names sort by time (``export_time=``, ``scored_at=``). A folder
    without a manifest (a writer that died) is skipped with a warning.
    """
    prefix = prefix.rstrip("/") + "/"
    folders = sorted(
        {
            key[: key.index("/", len(prefix))]
            for key in lake.list(prefix)
            if "/" in key[len(prefix) :]
        },
        reverse=True,
    )
    found = []
    for folder in folders:
        manifest = lake.read_manifest(folder)
        if manifest is None:
            logger.warning("skipping %s: no manifest (incomplete)", lake.url(folder))
            continue
        found.append((folder, manifest))
    return found


def verified_part(lake: Lake, folder: str, part: dict[str, Any], scratch: Path) -> Path:
    """A local copy of one part, checked against its manifest entry.

    Raises:
        StorageError: The part is missing or its checksum differs.
    """
    key = f"{folder}/{part['file']}"
    if not lake.exists(key):
        raise StorageError(f"{lake.url(key)} is missing: its folder is incomplete.")
    local = lake.get_file(key, scratch / part["file"])
    if sha256_of(local) != part["sha256"]:
        raise StorageError(
            f"{lake.url(key)} does not match its manifest checksum: the file was "
            "altered or truncated after it was written; write it again."
        )
    return local
