"""The disclosure-ready decision log of a finished wanted-person case: the PDF's text (extracted with
pypdf) and the CSV carry every audit record of the case with its hash, every decision with reasons
and risk assessment, the publication and the removal."""
from __future__ import annotations

import csv
import io

from pypdf import PdfReader

from .test_shares import released_case

REMOVE = {"removed_from": ["force_website"], "removed_at": "2026-11-22"}
INFORM = {"media_informed_at": "2026-11-22", "statement": "The man has been arrested; please remove the appeal."}


def finished_case(api):
    case_id, digest, _ = released_case(api, "WP-LOG-1")
    r = api.post("/api/messages", "olly", json={"messageName": "person_apprehended", "businessKey": "WP-LOG-1",
                                                "variables": {"note": "Arrested by response team"}})
    assert r.status_code == 200, r.get_json()
    for activity, values in (("remove_appeal", REMOVE), ("inform_media", INFORM)):
        task = [t for t in api.get("/api/tasks?businessKey=WP-LOG-1", "cat").get_json()
                if t["activityId"] == activity][0]
        assert api.post(f"/api/tasks/{task['id']}/complete", "cat", json={"variables": values}).status_code == 200
    assert api.get(f"/api/process-instances/{case_id}", "max").get_json()["state"] == "completed"
    return case_id, digest


def flat(text: str) -> str:
    return " ".join(text.split())


def test_pdf_decision_log_matches_the_audit_trail(api):
    case_id, digest = finished_case(api)
    audit = api.get(f"/api/process-instances/{case_id}/audit", "max").get_json()

    r = api.get(f"/api/process-instances/{case_id}/decision-log.pdf", "max")
    assert r.status_code == 200 and r.mimetype == "application/pdf"
    assert "decision-log-WP-LOG-1.pdf" in r.headers["Content-Disposition"]
    text = flat("\n".join(page.extract_text() for page in PdfReader(io.BytesIO(r.data)).pages))
    assert "Decision log: WP-LOG-1" in text and "Wanted person" in text and "state completed" in text
    assert "audit chain intact" in text
    for record in audit:
        assert f"#{record['seq']} · {record['at']} · {record['action']}" in text, record["seq"]
        assert f"hash {record['hash']}" in text and f"prev {record['prevHash']}" in text
        if record["rationale"]:
            assert flat(f"Reasons: {record['rationale']}") in text
    approval = next(r for r in audit if r["activityId"] == "approve_release" and r["action"] == "complete")
    assert "By: olly (oic)" in text and "Decision: approve" in text
    assert flat(f"Risk assessment: {approval['data']['risk_assessment']}") in text
    assert "published_urls: [\"https://police.example/wanted/1\"]" in text  # the publication
    assert "removed_from: [\"force_website\"]" in text and "removed_at: 2026-11-22" in text  # the removal
    assert "Appeal published" in text and digest in text  # disclosure log, citing the digest

    r = api.get(f"/api/process-instances/{case_id}/decision-log.csv", "max")
    assert r.status_code == 200 and r.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(r.get_data(as_text=True))))
    audit_rows = [row for row in rows if row["record"] == "audit"]
    assert [(int(row["seq"]), row["hash"], row["prev_hash"]) for row in audit_rows][:len(audit)] == \
        [(a["seq"], a["hash"], a["prevHash"]) for a in audit]
    assert any(row["record"] == "disclosure" and row["activity"] == "Appeal published" for row in rows)

    # The export itself is on the record; an officer with no task on the case is refused.
    after = api.get(f"/api/process-instances/{case_id}/audit", "max").get_json()
    assert [r["data"]["document"] for r in after if r["action"] == "export"] == ["decision-log.pdf",
                                                                                  "decision-log.csv"]
    assert api.get(f"/api/process-instances/{case_id}/decision-log.pdf", "fay").status_code in (403, 404)
    assert api.get(f"/api/process-instances/{case_id}/decision-log.doc", "max").status_code in (400, 404)
