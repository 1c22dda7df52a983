"""Object-storage landing: a bucket / prefix of an S3-compatible store into the landing
folder, incremental by key + ETag, through boto3.

* An object is downloaded when its key has no checkpoint or the checkpoint's ETag differs (an
  overwritten key is fetched again; an unchanged one is not). Keys ending in ``/`` (folder
  markers) and keys whose suffix is not in ``suffixes`` are left alone.
* Each version lands at ``<landing>/s3/<source>/<key below the prefix, folders kept>/<ETag>/
  <file name>``: the file keeps its own name (the WhatsApp chat-name rule reads it) and every
  version has its own place, so a download never overwrites a version that is not loaded yet.
  Writes are atomic (hidden temporary file + rename); a version already in place (a run killed
  after downloading it) is not downloaded again. The ingest's content hash dedupes the rest.
* A key that would leave the landing folder (``..``, absolute, control characters) is skipped
  with a reason in ``ExtractResult.problems``.
* Credentials: boto3's usual chain (environment ``AWS_ACCESS_KEY_ID`` /
  ``AWS_SECRET_ACCESS_KEY``, a profile, an instance role), the environment variables the source
  names, or a client / keys passed in by the caller; never from the config file, never logged.
* The function returns the files and the proposed checkpoints (one per key); it never stores
  checkpoints itself.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import logging
import os
import re
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path, PurePosixPath

from kpi_transforms.extract.common import (
    Checkpoint,
    ExtractError,
    ExtractResult,
    atomic_write,
    flush_to_disk,
    redact,
    remove_stale_temporaries,
    safe_component,
)

log = logging.getLogger(__name__)

LANDING_SUFFIXES = (".txt", ".zip", ".csv", ".xlsx", ".jsonl", ".json", ".parquet", ".mbox", ".eml")


@dataclasses.dataclass(frozen=True)
class S3Source:
    """One bucket / prefix to land. Holds no secret."""

    name: str
    bucket: str
    prefix: str = ""
    endpoint_url: str | None = None  # for S3-compatible stores (MinIO, Ceph, a cloud's own)
    region: str | None = None
    access_key_env: str | None = None  # None: boto3's default credential chain
    secret_key_env: str | None = None
    suffixes: tuple[str, ...] = LANDING_SUFFIXES
    ca_bundle: str | None = None
    workers: int = 4
    conn_id: str | None = None  # Airflow connection with login / password = access key / secret (default: chatkpi_s3_<name>, if defined)

    @property
    def location(self) -> str:
        return f"{self.bucket}/{self.prefix}"


def make_client(source: S3Source, *, access_key: str | None = None, secret_key: str | None = None):
    """A boto3 S3 client for the source (keys from the caller, else the named environment
    variables, else boto3's chain)."""
    import boto3
    from botocore.config import Config as BotoConfig

    if access_key is None and source.access_key_env:
        access_key, secret_key = os.environ.get(source.access_key_env), os.environ.get(source.secret_key_env or "")
        if not access_key or not secret_key:
            raise ExtractError(
                f"s3 source {source.name!r}: set the environment variables {source.access_key_env} and {source.secret_key_env}"
            )
    return boto3.client(
        "s3", endpoint_url=source.endpoint_url, region_name=source.region, aws_access_key_id=access_key,
        aws_secret_access_key=secret_key, verify=source.ca_bundle if source.ca_bundle else None,
        config=BotoConfig(retries={"max_attempts": 5, "mode": "standard"}, max_pool_connections=max(10, source.workers * 2)),
    )


_UNSAFE = re.compile(r"[\x00-\x1f\x7f\\]")


def landing_path(base: Path, prefix: str, key: str, etag: str) -> Path | None:
    """Where one object version lands, or None for a key that cannot be a safe path."""
    rel = key[len(prefix):] if key.startswith(prefix) else key
    parts = PurePosixPath(rel.lstrip("/")).parts
    if not parts or key.startswith("/") or _UNSAFE.search(key) or any(p in ("..", ".") for p in parts):
        return None
    folders = [safe_component(p, "_") for p in parts[:-1]]
    return base.joinpath(*folders, safe_component(etag, "etag"), safe_component(parts[-1]))


def extract_s3(
    source: S3Source,
    landing: str | Path,
    checkpoints: Mapping[tuple[str, str], Checkpoint] | Iterable[Checkpoint] | None = None,
    *,
    client=None,
    on_object: Callable[[str, Path], None] | None = None,
) -> ExtractResult:
    """Download the new and changed objects under the source's prefix into ``landing``; return
    the files written and the proposed checkpoints (one per landed key, unchanged keys
    excluded). ``checkpoints`` are the committed ones
    (:func:`kpi_transforms.extract.checkpoints.read_checkpoints`)."""
    landing = Path(landing)
    client = client or make_client(source)
    secrets = _client_secrets(client)
    stored = _etags(checkpoints, source)
    base = landing / "s3" / safe_component(source.name)
    remove_stale_temporaries(base)
    result = ExtractResult("s3", source.name)
    started = time.perf_counter()
    todo: list[tuple[str, str, int, Path]] = []
    try:
        pages = client.get_paginator("list_objects_v2").paginate(Bucket=source.bucket, Prefix=source.prefix)
        for page in pages:
            for obj in page.get("Contents", []):
                key, size = obj["Key"], int(obj.get("Size", 0))
                etag = str(obj.get("ETag", "")).strip('"')
                if key.endswith("/") or not key.lower().endswith(tuple(s.lower() for s in source.suffixes)):
                    continue
                if stored.get(key) == etag:
                    continue
                path = landing_path(base, source.prefix, key, etag)
                if path is None:
                    result.problems.append(f"{key!r}: not a safe file path, skipped")
                    continue
                todo.append((key, etag, size, path))
    except Exception as exc:  # noqa: BLE001
        raise ExtractError(redact(f"s3 source {source.name!r} ({source.location}): cannot list: {type(exc).__name__}: {exc}", secrets)) from None
    listed = time.perf_counter() - started

    def fetch(item: tuple[str, str, int, Path]) -> tuple[str, str, int, Path, bool]:
        key, etag, size, path = item
        if path.is_file() and path.stat().st_size == size:
            return key, etag, size, path, False  # landed by an interrupted run
        body = client.get_object(Bucket=source.bucket, Key=key, IfMatch=f'"{etag}"')["Body"].read()
        if len(body) != size:
            raise ExtractError(f"{key!r}: got {len(body)} bytes, the listing said {size}")
        atomic_write(path, body, fsync=False)
        return key, etag, size, path, True

    try:
        with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, source.workers)) as pool:
            for key, etag, size, path, downloaded in pool.map(fetch, todo):
                (result.files if downloaded else result.landed).append(path)
                result.fetched += int(downloaded)
                result.checkpoints.append(
                    Checkpoint("s3", source.name, source.location, key, etag=etag, object_size=size)
                )
                if on_object is not None:
                    on_object(key, path)
    except ExtractError:
        raise
    except Exception as exc:  # noqa: BLE001 - an object changed under us, a network error, ...
        raise ExtractError(redact(f"s3 source {source.name!r} ({source.location}): {type(exc).__name__}: {exc}", secrets)) from None
    finally:
        flush_to_disk()
    log.info("s3 source %s: %d object(s) listed as new or changed in %.1f s, %d downloaded, %d already landed, %d skipped in %.1f s",
             source.name, len(todo), listed, result.fetched, len(result.landed), len(result.problems),
             time.perf_counter() - started)
    return result


def _etags(checkpoints, source: S3Source) -> dict[str, str | None]:
    if checkpoints is None:
        return {}
    values = checkpoints.values() if isinstance(checkpoints, Mapping) else checkpoints
    return {cp.object_key: cp.etag for cp in values if cp.source_kind == "s3" and cp.folder == source.location}


def _client_secrets(client) -> tuple[str | None, ...]:
    try:
        creds = client._request_signer._credentials  # noqa: SLF001 - only to redact them from messages
        frozen = creds.get_frozen_credentials() if creds is not None else None
        return (frozen.secret_key, frozen.token, frozen.access_key) if frozen else ()
    except Exception:  # noqa: BLE001
        return ()
