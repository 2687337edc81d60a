"""The checkpoint signing key: never in the database, published, rotatable, required in production;
checkpoints written by the worker at intervals and exported outside the database (file, syslog)."""
from __future__ import annotations

import base64
import json
import logging
import socket
import threading
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import text

from engine import ReleaseDesk, audit
from engine.audit_checkpoints import export_path
from engine.audit_keys import demo_key_path
from web.app import create_app
from web.cli import main, run_worker


def _settings_env(monkeypatch, desk, **extra) -> None:
    """The CLI as production runs it: this database, no test mode, settings from the environment."""
    monkeypatch.setenv("RELEASEDESK_DATABASE_URL", desk.settings.database_url)
    monkeypatch.setenv("RELEASEDESK_MEDIA_DIR", desk.settings.media_dir)
    for name, value in extra.items():
        monkeypatch.setenv(f"RELEASEDESK_{name.upper()}", str(value))


def _record(desk, instance_id: int | None = None, actor: str = "max") -> None:
    with desk.transaction() as s:
        audit.append(s, at=desk.clock(), actor=actor, action="download", instance_id=instance_id)


def test_test_runs_generate_a_key_beside_the_database_and_never_store_it_in_the_database(desk):
    _record(desk, 1)
    cp = desk.audit.checkpoint("test")
    key_file = demo_key_path(desk.settings)
    pem = key_file.read_text()
    assert pem.startswith("-----BEGIN PRIVATE KEY-----") and key_file.stat().st_mode & 0o077 == 0
    assert cp["key"] == desk.audit.signing_key().key_id
    secret = pem.splitlines()[1]
    with desk.read() as s:
        for table in ("audit_checkpoints", "audit_records", "audit_streams"):
            dump = json.dumps([list(map(str, row)) for row in s.execute(text(f"SELECT * FROM {table}"))])
            assert secret not in dump and "PRIVATE" not in dump


def test_production_without_a_key_signs_nothing_and_says_how_to_configure_one(desk, monkeypatch, capsys, caplog):
    prod = ReleaseDesk(desk.settings.with_overrides(testing=False))
    _record(prod, 1)
    with caplog.at_level(logging.WARNING, logger="releasedesk.audit"):
        assert prod.checkpoint_audit_if_due() is None
    assert "audit checkpoints are OFF" in caplog.text and "releasedesk audit keygen" in caplog.text
    prod.dispose()
    _settings_env(monkeypatch, desk)
    assert main(["audit", "checkpoint"]) == 2
    assert "no audit signing key configured" in capsys.readouterr().err
    assert main(["audit", "verify"]) == 0  # still checks the chains, and says no checkpoint was written
    out = capsys.readouterr().out
    assert "intact" in out and "no checkpoint written" in out


def test_keygen_public_key_and_the_api_agree(desk, monkeypatch, capsys, tmp_path):
    key_file = tmp_path / "keys" / "audit.key"
    _settings_env(monkeypatch, desk)
    assert main(["audit", "keygen", "--out", str(key_file)]) == 0
    published = capsys.readouterr().out.split("(publish this line): ")[1].splitlines()[0]
    assert main(["audit", "keygen", "--out", str(key_file)]) == 1  # never overwritten
    capsys.readouterr()
    monkeypatch.setenv("RELEASEDESK_AUDIT_SIGNING_KEY_FILE", str(key_file))
    assert main(["audit", "public-key"]) == 0
    assert capsys.readouterr().out.strip() == published
    assert main(["audit", "checkpoint"]) == 0
    assert main(["audit", "verify"]) == 0
    assert "intact" in capsys.readouterr().out
    key_id, public = published.split()
    app = create_app(desk.settings.with_overrides(audit_signing_key_file=str(key_file)))
    body = app.test_client().get("/api/audit/public-key").get_json()  # no credentials needed
    assert body["algorithm"] == "Ed25519" and (body["keyId"], body["publicKey"]) == (key_id, public)
    assert "/api/audit/public-key" in app.test_client().get("/api/openapi.json").get_json()["paths"]
    exported = export_path(desk.settings).read_text().splitlines()
    assert [json.loads(line)["key"] for line in exported] == [key_id, key_id]


def test_key_from_the_environment(desk, monkeypatch, capsys):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    raw = Ed25519PrivateKey.generate().private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                                      serialization.NoEncryption())
    _settings_env(monkeypatch, desk, audit_signing_key=base64.b64encode(raw).decode())
    assert main(["audit", "verify"]) == 0
    assert "checkpoint 1 signed by ed25519:" in capsys.readouterr().out
    monkeypatch.setenv("RELEASEDESK_AUDIT_SIGNING_KEY", "not a key")
    assert main(["audit", "verify"]) == 2
    assert "neither PEM nor base64" in capsys.readouterr().err


def test_rotation_keeps_old_checkpoints_verifiable_through_the_trusted_keys_file(desk, monkeypatch, capsys, tmp_path):
    old, new = tmp_path / "old.key", tmp_path / "new.key"
    _settings_env(monkeypatch, desk)
    assert main(["audit", "keygen", "--out", str(old)]) == 0
    assert main(["audit", "keygen", "--out", str(new)]) == 0
    capsys.readouterr()
    monkeypatch.setenv("RELEASEDESK_AUDIT_SIGNING_KEY_FILE", str(old))
    assert main(["audit", "verify"]) == 0
    assert main(["audit", "public-key"]) == 0
    old_line = capsys.readouterr().out.strip().splitlines()[-1]
    monkeypatch.setenv("RELEASEDESK_AUDIT_SIGNING_KEY_FILE", str(new))
    assert main(["audit", "verify"]) == 1  # checkpoint 1 is signed by a key no longer trusted
    assert "BROKEN at checkpoint 1" in capsys.readouterr().out
    trusted = tmp_path / "trusted-keys"
    trusted.write_text(f"# retired {datetime.now(timezone.utc).date()}\n{old_line}\n")
    monkeypatch.setenv("RELEASEDESK_AUDIT_TRUSTED_KEYS_FILE", str(trusted))
    assert main(["audit", "verify"]) == 0
    assert main(["audit", "public-key", "--all"]) == 0
    out = capsys.readouterr().out
    assert "checkpoint 2 signed by" in out and old_line in out
    keys = [json.loads(line)["key"] for line in export_path(desk.settings).read_text().splitlines()]
    assert keys[0] == old_line.split()[0] and keys[1] != keys[0]
    trusted.write_text(old_line.replace(old_line.split()[0], "ed25519:0000000000000000") + "\n")
    assert main(["audit", "verify"]) == 2  # a mislabelled key is a configuration error, said plainly
    assert "does not match the key" in capsys.readouterr().err


def test_worker_checkpoints_at_intervals_only_when_something_changed(desk):
    now = [datetime(2026, 11, 26, 12, 0, tzinfo=timezone.utc)]
    clocked = ReleaseDesk(desk.settings.with_overrides(audit_checkpoint_seconds=60), clock=lambda: now[0])
    try:
        _record(clocked, 1)
        first = clocked.checkpoint_audit_if_due()
        assert first["id"] == 1 and first["reason"] == "interval"
        _record(clocked, 2)
        now[0] += timedelta(seconds=30)
        assert clocked.checkpoint_audit_if_due() is None  # not due yet
        now[0] += timedelta(seconds=31)
        second = clocked.checkpoint_audit_if_due()
        assert second["id"] == 2 and list(second["heads"]) == ["case:2"]  # only what changed
        now[0] += timedelta(seconds=61)
        assert clocked.checkpoint_audit_if_due() is None  # nothing changed
        other_process = ReleaseDesk(clocked.settings, clock=lambda: now[0])
        _record(clocked, 3)
        assert other_process.checkpoint_audit_if_due()["id"] == 3
        now[0] += timedelta(seconds=1)
        assert clocked.checkpoint_audit_if_due() is None  # another process signed one a second ago
        other_process.dispose()
    finally:
        clocked.dispose()
    lines = export_path(desk.settings).read_text().splitlines()
    assert [json.loads(line)["id"] for line in lines] == [1, 2, 3]


def test_the_worker_loop_signs_checkpoints(desk):
    _record(desk, 7)
    stop = threading.Event()
    thread = threading.Thread(target=run_worker, args=(desk, 0.05, stop), daemon=True)
    thread.start()
    path = export_path(desk.settings)
    try:
        for _ in range(100):  # bounded: at most 5 s
            if path.exists() and path.read_text():
                break
            stop.wait(0.05)
    finally:
        stop.set()
        thread.join(timeout=5)
    assert json.loads(path.read_text().splitlines()[0])["heads"]["case:7"][0] == 1


def test_a_lost_export_line_is_written_again_before_the_next_checkpoint(desk):
    _record(desk, 1)
    desk.audit.checkpoint("test")
    path = export_path(desk.settings)
    path.write_text("")  # as if the process died between commit and export
    assert desk.verify_audit(write_checkpoint=False).ok  # signed but not yet exported: a note, not tampering
    _record(desk, 2)
    desk.audit.checkpoint("test")
    assert [json.loads(line)["id"] for line in path.read_text().splitlines()] == [1, 2]


def test_checkpoints_go_to_syslog(desk):
    server = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    server.bind(("127.0.0.1", 0))
    server.settimeout(5)
    port = server.getsockname()[1]
    try:
        logged = ReleaseDesk(desk.settings.with_overrides(audit_syslog_address=f"127.0.0.1:{port}"))
        _record(logged, 1)
        cp = logged.audit.checkpoint("test")
        message = server.recv(65536).decode()
        logged.dispose()
    finally:
        server.close()
    assert "releasedesk-audit-checkpoint" in message
    sent = json.loads(message.split("releasedesk-audit-checkpoint ", 1)[1].rstrip("\x00"))
    assert sent["hash"] == cp["hash"] and sent["signature"] == cp["signature"]


def test_export_can_be_compared_with_a_collected_copy(desk, monkeypatch, capsys, tmp_path):
    """An auditor verifies against the copy they collected (e.g. from syslog), not the local file."""
    _record(desk, 1)
    desk.audit.checkpoint("test")
    collected = tmp_path / "collected.jsonl"
    collected.write_text(export_path(desk.settings).read_text())
    with desk.transaction() as s:
        s.execute(text("DELETE FROM audit_checkpoints"))
        s.execute(text("DELETE FROM audit_checkpointed"))
    export_path(desk.settings).unlink()
    result = desk.verify_audit(write_checkpoint=False, exported_file=str(collected))
    assert not result.ok and result.bad_checkpoint == 1 and "collected.jsonl" in result.reason



def test_demo_needs_no_configuration_and_later_verifies_with_its_own_key(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("RELEASEDESK_DATABASE_URL", f"sqlite:///{tmp_path / 'instance' / 'demo.db'}")
    monkeypatch.setenv("RELEASEDESK_MEDIA_DIR", str(tmp_path / "instance" / "media"))
    assert main(["demo"]) == 0
    assert (tmp_path / "instance" / "audit-signing.key").exists()
    capsys.readouterr()
    assert main(["audit", "verify"]) == 0  # not a demo run: it finds the instance folder's key
    out = capsys.readouterr().out
    assert "1 signed checkpoint(s) verified" in out and "checkpoint 2 signed by" in out


def test_a_key_being_generated_is_never_visible_half_written(tmp_path, monkeypatch):
    """Two processes starting together on a fresh demo folder: one must not read the other's half-written key."""
    import os

    from engine.audit_keys import generate_key_file
    path = tmp_path / "audit-signing.key"
    seen = []
    real_fsync = os.fsync

    def fsync(fd):
        seen.append(path.exists())  # the key's bytes are written but not yet published
        real_fsync(fd)
    monkeypatch.setattr(os, "fsync", fsync)
    key = generate_key_file(path)
    assert seen == [False] and path.exists() and list(tmp_path.iterdir()) == [path]
    with pytest.raises(FileExistsError):
        generate_key_file(path)
    assert key.public_line().split()[0] == key.key_id
