"""The proposed ``extract:`` section of the YAML config (docs/OPERATIONS.md, "Extracting from
IMAP, object storage and the WhatsApp Business Platform"), parsed into the extractors' source
objects. Not read by :mod:`kpi_transforms.core.config` yet (phase B wires it); a credential written
into the section is an error, like an unknown key.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from kpi_transforms.core.config import ConfigError
from kpi_transforms.extract.imap import SECURITY, ImapSource
from kpi_transforms.extract.s3 import LANDING_SUFFIXES, S3Source
from kpi_transforms.sources.whatsapp_cloud import CloudOptions, options_from_mapping

_TOP = {"landing_dir", "imap", "s3", "whatsapp_cloud", "keep_landed_days"}
_IMAP = {f.name for f in dataclasses.fields(ImapSource)}
_S3 = {f.name for f in dataclasses.fields(S3Source)}
_CLOUD = {"agents", "default_agent", "outgoing_from_statuses"}
_SECRETS = {"password", "passwd", "username", "user", "login", "secret", "secret_key", "access_key", "token",
            "aws_access_key_id", "aws_secret_access_key", "credentials"}


@dataclasses.dataclass(frozen=True)
class ExtractSettings:
    landing_dir: str | None = None  # default: <landing_dir>/extract
    imap: tuple[ImapSource, ...] = ()
    s3: tuple[S3Source, ...] = ()
    whatsapp_cloud: CloudOptions = dataclasses.field(default_factory=CloudOptions)
    # retention of extracted files (docs/OPERATIONS.md): None keeps them all
    keep_landed_days: int | None = None


def _check_keys(where: str, item: Mapping, allowed: set[str]) -> None:
    for key in item:
        if str(key).lower() in _SECRETS:
            raise ConfigError(
                f"{where}.{key}: credentials do not belong in the config file; name environment variables "
                "(username_env / password_env, access_key_env / secret_key_env) or use an Airflow connection"
            )
        if key not in allowed:
            raise ConfigError(f"{where}.{key}: unknown key (expected one of {', '.join(sorted(allowed))})")


def _sources(raw: Any, where: str, allowed: set[str]) -> list[dict]:
    if raw is None:
        return []
    if not isinstance(raw, list) or not all(isinstance(i, dict) for i in raw):
        raise ConfigError(f"{where}: expected a list of mappings")
    names = [str(i.get("name") or "") for i in raw]
    if "" in names:
        raise ConfigError(f"{where}: every source needs a name")
    if len(set(names)) != len(names):
        raise ConfigError(f"{where}: source names must be unique")
    for k, item in enumerate(raw):
        _check_keys(f"{where}[{k}]", item, allowed)
    return raw


def parse_extract_settings(raw: Mapping | None) -> ExtractSettings:
    """The ``extract:`` mapping as source objects; ConfigError naming the key on a mistake."""
    if raw is None:
        return ExtractSettings()
    if not isinstance(raw, Mapping):
        raise ConfigError("extract: expected a mapping")
    _check_keys("extract", raw, _TOP)
    imap = []
    for k, item in enumerate(_sources(raw.get("imap"), "extract.imap", _IMAP)):
        kwargs = dict(item)
        if "folders" in kwargs:
            folders = kwargs["folders"]
            if isinstance(folders, str) or not isinstance(folders, list) or not folders:
                raise ConfigError(f"extract.imap[{k}].folders: expected a non-empty list of folder names")
            kwargs["folders"] = tuple(str(f) for f in folders)
        if kwargs.get("security", "ssl") not in SECURITY:
            raise ConfigError(f"extract.imap[{k}].security: {kwargs['security']!r} is not one of {', '.join(SECURITY)}")
        try:
            imap.append(ImapSource(**kwargs))
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"extract.imap[{k}]: {exc}") from None
    s3 = []
    for k, item in enumerate(_sources(raw.get("s3"), "extract.s3", _S3)):
        kwargs = dict(item)
        if "suffixes" in kwargs:
            kwargs["suffixes"] = tuple(str(s).lower() for s in kwargs["suffixes"] or LANDING_SUFFIXES)
        if bool(kwargs.get("access_key_env")) != bool(kwargs.get("secret_key_env")):
            raise ConfigError(f"extract.s3[{k}]: give both access_key_env and secret_key_env, or neither")
        try:
            s3.append(S3Source(**kwargs))
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"extract.s3[{k}]: {exc}") from None
    cloud_raw = raw.get("whatsapp_cloud") or {}
    if not isinstance(cloud_raw, Mapping):
        raise ConfigError("extract.whatsapp_cloud: expected a mapping")
    _check_keys("extract.whatsapp_cloud", cloud_raw, _CLOUD)
    agents = cloud_raw.get("agents") or {}
    if not isinstance(agents, Mapping):
        raise ConfigError("extract.whatsapp_cloud.agents: expected a mapping business number or phone-number id -> agent id")
    cloud = options_from_mapping(cloud_raw)
    landing_dir = raw.get("landing_dir")
    keep = raw.get("keep_landed_days")
    if keep is not None and (isinstance(keep, bool) or not isinstance(keep, int) or keep < 0):
        raise ConfigError(f"extract.keep_landed_days: expected a whole number of days >= 0, got {keep!r}")
    return ExtractSettings(str(landing_dir) if landing_dir else None, tuple(imap), tuple(s3), cloud, keep)
