"""Fixtures shared by every test layer.

`desk` is a ReleaseDesk on a real database with the shipped workflows deployed, once per backend:
SQLite (a copy of a migrated template file) and PostgreSQL (a schema of its own in database `test`,
emptied and redeployed between tests). PostgreSQL tests skip when the server is unreachable, unless
RELEASEDESK_TEST_PG=required (as in CI), when they fail instead."""
from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from engine import Actor, ReleaseDesk, load_settings
from engine.users import create_user

ROOT = Path(__file__).resolve().parent.parent
PG_BASE = os.environ.get("RELEASEDESK_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
RUNTIME_TABLES = (
    "share_links", "evidence_citations", "evidence_references",
    "incidents", "media_citations", "media_uploaders", "human_task_groups", "human_tasks", "activity_positions",
    "subscriptions", "disclosure_log", "notifications", "notification_preferences", "saved_filters",
    "idempotency_keys", "process_instances", "audit_records", "audit_streams", "audit_checkpoints",
    "audit_checkpointed", "api_tokens", "web_sessions", "user_groups", "users", "media_items",
    "definition_publications", "process_definitions", "resources", "deployments",
)

ACTORS = {
    "requester": Actor("rita", frozenset({"requester"})),
    "sio": Actor("sam", frozenset({"sio"})),
    "oic": Actor("olly", frozenset({"oic"})),
    "ccd": Actor("cat", frozenset({"ccd"})),
    "flo": Actor("fay", frozenset({"flo"})),
    "senior_ops": Actor("sol", frozenset({"senior_ops"})),
    "head_of_comms": Actor("hana", frozenset({"head_of_comms"})),
    "designer": Actor("dee", frozenset({"designer"})),
    "manager": Actor("max", frozenset({"manager"})),
}


@pytest.fixture
def actors() -> dict[str, Actor]:
    return ACTORS


def _settings(url: str, tmp: Path):
    return load_settings(database_url=url, media_dir=str(tmp / "media"), testing=True,
                         secret_key="test-secret-key")


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("template")
    path = folder / "template.db"
    desk = ReleaseDesk(_settings(f"sqlite:///{path}", folder))
    desk.migrate()
    with desk.transaction() as s:
        desk.deploy_workflows(s)
    desk.dispose()  # the last connection to close checkpoints the WAL into the main file
    return path


def _pg_available() -> bool:
    try:
        engine = create_engine(PG_BASE, connect_args={"connect_timeout": 3})
        with engine.connect():
            pass
        engine.dispose()
        return True
    except Exception:
        return False


@pytest.fixture(scope="session")
def pg_url():
    if not _pg_available():
        if os.environ.get("RELEASEDESK_TEST_PG") == "required":
            pytest.fail(f"PostgreSQL is required but unreachable at {PG_BASE}")
        pytest.skip("PostgreSQL not reachable")
    schema = f"rd_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_BASE, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = f"{PG_BASE}?options=-csearch_path%3D{schema}"
    desk = ReleaseDesk(load_settings(database_url=url))
    desk.migrate()
    desk.dispose()
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request) -> str:
    return request.param


@pytest.fixture
def db_url(backend, request, tmp_path) -> str:
    if backend == "sqlite":
        template = request.getfixturevalue("sqlite_template")
        target = tmp_path / "releasedesk.db"
        shutil.copyfile(template, target)
        for suffix in ("-wal", "-shm"):
            if Path(f"{template}{suffix}").exists():
                shutil.copyfile(f"{template}{suffix}", f"{target}{suffix}")
        return f"sqlite:///{target}"
    url = request.getfixturevalue("pg_url")
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("TRUNCATE " + ", ".join(RUNTIME_TABLES) + " RESTART IDENTITY CASCADE"))
    engine.dispose()
    desk = ReleaseDesk(_settings(url, tmp_path))
    with desk.transaction() as s:
        desk.deploy_workflows(s)
    desk.dispose()
    return url


@pytest.fixture
def desk(db_url, tmp_path):
    desk = ReleaseDesk(_settings(db_url, tmp_path))
    yield desk
    desk.dispose()


PASSWORD = "correct horse battery"
USERS = {
    "rita": ["requester"], "sam": ["sio"], "olly": ["oic"], "cat": ["ccd"], "fay": ["flo"], "sol": ["senior_ops"],
    "hana": ["head_of_comms"], "dee": ["designer"], "max": ["manager"], "ada": ["admin"],
    "cathy": ["ccd", "requester"],
}


@pytest.fixture(scope="session")
def web_template(sqlite_template, tmp_path_factory) -> Path:
    """The SQLite template plus one user per role (password PASSWORD)."""
    folder = tmp_path_factory.mktemp("webtemplate")
    path = folder / "web.db"
    shutil.copyfile(sqlite_template, path)
    desk = ReleaseDesk(_settings(f"sqlite:///{path}", folder))
    with desk.transaction() as s:
        for username, groups in USERS.items():
            create_user(s, username, PASSWORD, groups)
    desk.dispose()
    return path


@pytest.fixture
def web_desk(web_template, tmp_path):
    """A ReleaseDesk on a private copy of the web template (SQLite, users and workflows in place)."""
    target = tmp_path / "web.db"
    shutil.copyfile(web_template, target)
    desk = ReleaseDesk(_settings(f"sqlite:///{target}", tmp_path))
    yield desk
    desk.dispose()


@pytest.fixture(scope="session")
def browser():
    """One headless Chromium for the whole run (Playwright's sync API allows one per process), shared
    by tests/browser and tests/security; skips without Chromium unless RELEASEDESK_REQUIRE_BROWSER=1."""
    from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS
    if not Path(CHROMIUM).exists():
        if os.environ.get("RELEASEDESK_REQUIRE_BROWSER") == "1":
            pytest.fail(f"Chromium is required but missing at {CHROMIUM} (apt-get install chromium)")
        pytest.skip("Chromium not installed (make browser-deps)")
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()
