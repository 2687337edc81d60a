"""Settings: defaults, then a TOML file named by RELEASEDESK_CONFIG, then RELEASEDESK_* variables,
then explicit overrides (tests). Force-level policy defaults live here too, because the APP leaves
them to local force policy (review interval, removal SLA, copyright wording, transmission methods)."""
from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

DEFAULT_INSTANCE_DIR = Path(os.environ.get("RELEASEDESK_INSTANCE_DIR", "instance"))


@dataclass(frozen=True)
class Settings:
    database_url: str = f"sqlite:///{(DEFAULT_INSTANCE_DIR / 'releasedesk.db').resolve()}"
    secret_key: str | None = None
    media_dir: str = str((DEFAULT_INSTANCE_DIR / "media").resolve())
    workflows_dir: str = str(Path(__file__).resolve().parent.parent / "workflows")
    max_upload_bytes: int = 50 * 1024 * 1024
    review_interval: str = "P30D"
    removal_sla: str = "PT4H"
    copyright_notice: str = "© Police. All rights reserved. Reproduced by permission."
    conditions_of_use: str = (
        "Released for the stated policing purpose only. Do not alter, crop or reuse after the appeal ends."
    )
    transmission_methods: tuple[str, ...] = ("secure_portal", "encrypted_email")
    custody_local_approval: bool = True
    secure_cookies: bool = True  # session cookie only over HTTPS; off for plain-HTTP intranet trials
    media_max_bytes: int = 2 * 1024 ** 3  # POST /api/media, streamed to disk (body-worn video)
    share_link_days: int = 14  # how long a share link to released media stays open
    testing: bool = False
    demo: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    def with_overrides(self, **overrides: Any) -> Settings:
        return replace(self, **overrides)


_ENV_PREFIX = "RELEASEDESK_"


def _coerce(name: str, raw: Any) -> Any:
    kind = {f.name: f.type for f in fields(Settings)}[name]
    if isinstance(raw, str):
        if "bool" in str(kind):
            return raw.strip().lower() in {"1", "true", "yes", "on"}
        if kind == "int" or str(kind) == "int":
            return int(raw)
        if "tuple" in str(kind):
            return tuple(part.strip() for part in raw.split(",") if part.strip())
    if isinstance(raw, list):
        return tuple(raw)
    return raw


def load_settings(**overrides: Any) -> Settings:
    """Build settings from the environment; unknown keys in a TOML file are refused loudly."""
    values: dict[str, Any] = {}
    known = {f.name for f in fields(Settings)} - {"extra"}
    config_file = os.environ.get(_ENV_PREFIX + "CONFIG")
    if config_file:
        with open(config_file, "rb") as fh:
            data = tomllib.load(fh)
        section = data.get("releasedesk", data)
        for key, raw in section.items():
            if key not in known:
                raise ValueError(f"{config_file}: unknown setting {key!r}")
            values[key] = _coerce(key, raw)
    for name in known:
        raw = os.environ.get(_ENV_PREFIX + name.upper())
        if raw is not None:
            values[name] = _coerce(name, raw)
    values.update(overrides)
    return Settings(**values)
