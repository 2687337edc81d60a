"""Reads never wait on the write lock: a page or API read goes through while another transaction
holds the write lock (SQLite's BEGIN IMMEDIATE, PostgreSQL's row lock)."""
from __future__ import annotations

import threading
import time

from sqlalchemy import select, text

from engine.models import ProcessDefinition


def test_a_read_goes_through_while_a_writer_holds_the_lock(desk):
    holding, release = threading.Event(), threading.Event()

    def writer():
        with desk.transaction() as s:
            s.execute(text("UPDATE process_definitions SET name = name"))  # takes the write lock
            holding.set()
            release.wait(10)

    thread = threading.Thread(target=writer)
    thread.start()
    assert holding.wait(10)
    started = time.monotonic()
    try:
        with desk.read() as s:
            keys = s.scalars(select(ProcessDefinition.key)).all()
        elapsed = time.monotonic() - started
    finally:
        release.set()
        thread.join(10)
    assert "wanted_person" in keys
    assert elapsed < 1.0, f"the read waited {elapsed:.2f} s for the writer"
