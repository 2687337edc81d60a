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
    # Audit checkpoints (README "The audit record and its threat model"): how often the worker signs
    # one (0: never in this process), the Ed25519 key (PEM/base64 text, or a file), older public keys
    # still trusted after a rotation, and where each checkpoint is exported (None: beside media_dir;
    # "": nowhere) and optionally sent to syslog ("/dev/log" or "host:port").
    audit_checkpoint_seconds: int = 60
    audit_signing_key: str | None = None
    audit_signing_key_file: str | None = None
    audit_trusted_keys_file: str | None = None
    audit_export_file: str | None = None
    audit_syslog_address: str | None = None
    # --- scale-out ---
    timer_batch_size: int = 10  # due timers a worker claims at a time (SKIP LOCKED on PostgreSQL)
    timer_claim_seconds: int = 300  # how long a claim stands before another worker may take the timer
    db_pool_size: int = 10  # connections each process keeps open (PostgreSQL)
    db_max_overflow: int = 10  # extra connections under bursts (PostgreSQL)
    db_pool_timeout: int = 10  # seconds to wait for a free connection before answering 503
    # Bounds on one command (start, complete, message, timer): past any of them it is rolled back.
    command_max_steps: int = 500
    command_max_tasks: int = 5000
    command_max_seconds: int = 5
    # Bounds on submitted values: text without its own maxlength, durations (review_interval, removal_sla).
    max_text_length: int = 20_000
    duration_min_seconds: int = 60
    duration_max_days: int = 3660
    # Incidents (a case's timer failing in the worker): first retry after this, doubling up to the cap.
    incident_retry_seconds: int = 60
    incident_retry_max_seconds: int = 3600
    # Notifications by email (off unless smtp_host is set); links in emails start with public_url.
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_user: str | None = None
    smtp_password: str | None = None
    smtp_from: str = "release-desk@localhost"
    smtp_starttls: bool = False
    smtp_timeout: int = 10
    public_url: str = "http://127.0.0.1:5000"
    digest_minutes: int = 60
    # --- sign-in and sessions (README "Security") ---
    session_idle_minutes: int = 30  # a signed-in session unused this long is ended
    session_max_hours: int = 12  # and none lasts longer than this, used or not
    trusted_proxies: tuple[str, ...] = ()  # addresses/CIDRs whose X-Forwarded-For names the client
    local_passwords: bool = True  # False: people sign in only through OpenID Connect
    oidc_issuer: str = ""  # e.g. https://login.microsoftonline.com/<tenant>/v2.0; empty: no SSO
    oidc_client_id: str = ""
    oidc_client_secret: str = ""
    oidc_scopes: str = "openid profile email"
    oidc_username_claim: str = "preferred_username"
    oidc_groups_claim: str = "groups"  # Entra ID: "groups" (object ids) or "roles" (app roles)
    oidc_group_map: tuple[str, ...] = ()  # "claim value=product group", e.g. "a1b2...=oic"
    # Uploads no case cites yet: per-user quota, and the age after which the worker purges them.
    media_quota_bytes: int = 500 * 1024 * 1024
    media_quarantine_hours: int = 24
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
