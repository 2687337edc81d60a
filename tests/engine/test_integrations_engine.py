"""The integration services on both backends (SQLite and PostgreSQL): evidence references and media
citations, download access, share links, the event feed and the decision log."""
from __future__ import annotations

import pytest

from engine import InvalidForm, NotFound, decision_log, evidence, shares
from engine.events import events_after
from engine.models import ProcessInstance

from .driver import Case, media
from .test_pathway_wanted_person import APPROVE, PUBLISH, START

REFERENCE = {"system": "Evidence.com", "id": "BWV-1", "sha256": "cd" * 32, "url": "https://dems.example/BWV-1"}


def test_references_citations_access_shares_feed_and_log(desk, actors):
    photo = media(desk)
    case = Case(desk, "wanted_person", "WP-INT-1", {**START, "media_items": [photo, REFERENCE]}, actors["requester"])
    assert case.variables["media_items"] == [photo, REFERENCE["sha256"]]
    with desk.read() as s:
        item, via = evidence.open_for(s, REFERENCE["sha256"], actors["oic"])
        assert evidence.reference_view(item) == REFERENCE and via.id == case.id
        with pytest.raises(NotFound):
            evidence.open_for(s, photo, actors["flo"])
        assert evidence.open_for(s, photo, actors["manager"])[1].id == case.id

    with pytest.raises(InvalidForm) as refused:
        Case(desk, "wanted_person", "WP-INT-2", {**START, "media_items": [{**REFERENCE, "url": "file:///etc"}]},
             actors["requester"])
    assert "url" in refused.value.details["media_items"]

    case.complete("approve_release", actors["oic"], APPROVE)
    case.complete("publish_appeal", actors["ccd"], PUBLISH)
    now = desk.clock()
    with desk.transaction() as s:
        issued = shares.issue(s, case.id, actors["ccd"], recipient="CPS North", recipient_kind="cps", max_days=14,
                              now=now)
        assert issued.link.digests == [photo]  # stored files only: the evidence system's item is not ours to send
    with desk.transaction() as s:
        link = shares.open_link(s, issued.token, now)
        shares.record_download(s, link, shares.link_media(s, link)[0], remote_addr="192.0.2.1", user_agent="x",
                               watermarked=False, now=now)
        shares.revoke(s, link.id, actors["ccd"], now)
    with desk.read() as s:
        with pytest.raises(shares.LinkClosed):
            shares.open_link(s, issued.token, now)
        feed = events_after(s, actors["oic"], 0, 1000, now)
        actions = [e["action"] for e in feed["items"]]
        assert actions[0] == "start" and "share_download" in actions and actions[-1] == "share_revoke"
        log = decision_log.build(s, s.get(ProcessInstance, case.id), "max", now)
    text = decision_log.to_csv(log)
    assert "Appeal published" in text and "share_download" in text and REFERENCE["sha256"] in text
