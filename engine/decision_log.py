"""A disclosure-ready decision log for one case, as CSV and PDF: every decision with its reasons
and risk assessment, who decided and in which role, decision tables, messages, publications,
removals, share links, with each record's audit hash and the hash it links to, and the result of
checking the chain when the log was made. For court, a subject access request or a review.

The rows come straight from the audit trail and the disclosure log (nothing is re-derived), so the
document can be checked against `GET /api/process-instances/{id}/audit` record by record."""
from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from . import audit
from .models import DisclosureEntry, ProcessInstance
from .queries import audit_trail, iso

# Submitted values worth a line of their own (beyond decision and rationale).
DETAIL_FIELDS = ("risk_assessment", "channels", "published_urls", "published_at", "removed_from", "removed_at",
                 "transmission_method", "media_informed_at", "statement", "review_outcome", "cps_advice",
                 "legal_outcome", "release_decision", "exceptional_reason", "reason", "note", "recipient",
                 "recipientKind", "media_items", "digest", "remoteAddr")
CSV_COLUMNS = ("record", "seq", "at", "actor", "group", "action", "activity_id", "activity", "decision",
               "rationale", "risk_assessment", "details", "hash", "prev_hash")


@dataclass
class DecisionLog:
    case: dict[str, Any]
    records: list[dict[str, Any]]
    disclosures: list[dict[str, Any]]
    chain: str
    made_at: str
    made_by: str


def build(session: Session, instance: ProcessInstance, made_by: str, now: datetime) -> DecisionLog:
    records = audit_trail(session, instance.id)
    disclosures = [{"at": iso(d.at), "actor": d.actor, "activity_id": d.activity_id, "description": d.description,
                    "channels": d.channels, "destinations": d.destinations, "media_items": d.media_items}
                   for d in session.scalars(select(DisclosureEntry).where(DisclosureEntry.instance_id == instance.id)
                                            .order_by(DisclosureEntry.at, DisclosureEntry.id))]
    case = {"id": instance.id, "businessKey": instance.business_key, "pathway": instance.definition.name,
            "key": instance.key, "version": instance.version, "state": instance.state, "outcome": instance.outcome,
            "startedAt": iso(instance.started_at), "startedBy": instance.started_by, "endedAt": iso(instance.ended_at)}
    return DecisionLog(case, records, disclosures, str(audit.verify(session, instance.id)), iso(now), made_by)


def details(record: dict[str, Any]) -> dict[str, Any]:
    data = record.get("data") or {}
    return {k: data[k] for k in DETAIL_FIELDS if k != "risk_assessment" and data.get(k) not in (None, "", [])}


def _text(value: Any) -> str:
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return "" if value is None else str(value)


def _csv_cell(value: Any) -> str:
    text = _text(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def to_csv(log: DecisionLog) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for r in log.records:
        writer.writerow([_csv_cell(v) for v in (
            "audit", r["seq"], r["at"], r["actor"], r["group"], r["action"], r["activityId"], r["activityName"],
            r["decision"], r["rationale"], (r.get("data") or {}).get("risk_assessment"), details(r), r["hash"],
            r["prevHash"])])
    for d in log.disclosures:
        writer.writerow([_csv_cell(v) for v in (
            "disclosure", "", d["at"], d["actor"], "", "disclosure", d["activity_id"], d["description"], "", "", "",
            {"channels": d["channels"], "destinations": d["destinations"], "media_items": d["media_items"]}, "", "")])
    return out.getvalue()


def to_pdf(log: DecisionLog) -> bytes:
    from xml.sax.saxutils import escape

    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
    from reportlab.lib.units import mm
    from reportlab.platypus import KeepTogether, Paragraph, SimpleDocTemplate, Spacer

    styles = getSampleStyleSheet()
    body = ParagraphStyle("body", parent=styles["BodyText"], fontSize=9, leading=11.5)
    mono = ParagraphStyle("mono", parent=body, fontName="Courier", fontSize=7, leading=9, textColor=colors.grey)
    head = ParagraphStyle("head", parent=body, fontName="Helvetica-Bold", spaceBefore=6)
    case = log.case
    title = f"Decision log: {case['businessKey']}"

    def para(text: str, style=body) -> Paragraph:
        return Paragraph(escape(text).replace("\n", "<br/>"), style)

    story: list = [Paragraph(escape(title), styles["Title"]),
                   para(f"Pathway: {case['pathway']} ({case['key']} version {case['version']})"),
                   para(f"Case id {case['id']} · state {case['state']}" + (f" · outcome {case['outcome']}"
                                                                          if case["outcome"] else "")),
                   para(f"Started {case['startedAt']} by {case['startedBy']}"
                        + (f" · ended {case['endedAt']}" if case["endedAt"] else "")),
                   para(f"Made {log.made_at} by {log.made_by} · {log.chain}"),
                   Spacer(1, 4 * mm), Paragraph("Decisions and events (audit trail, oldest first)", styles["Heading2"])]
    for r in log.records:
        block = [para(f"#{r['seq']} · {r['at']} · {r['action']}"
                      + (f" · {r['activityName'] or r['activityId']}" if r["activityId"] else ""), head),
                 para(f"By: {r['actor']}" + (f" ({r['group']})" if r["group"] else ""))]
        if r["decision"]:
            block.append(para(f"Decision: {r['decision']}"))
        if r["rationale"]:
            block.append(para(f"Reasons: {r['rationale']}"))
        risk = (r.get("data") or {}).get("risk_assessment")
        if risk:
            block.append(para(f"Risk assessment: {risk}"))
        for key, value in details(r).items():
            block.append(para(f"{key}: {_text(value)}"))
        block += [para(f"hash {r['hash']}", mono), para(f"prev {r['prevHash']}", mono)]
        story.append(KeepTogether(block))
    story += [Spacer(1, 4 * mm), Paragraph("Disclosure log (publications, transmissions, share links)",
                                           styles["Heading2"])]
    if not log.disclosures:
        story.append(para("No disclosures recorded."))
    for d in log.disclosures:
        story.append(KeepTogether([
            para(f"{d['at']} · {d['description']} · by {d['actor']}", head),
            para("Channels: " + (", ".join(d["channels"]) or "—")),
            para("Destinations: " + (", ".join(d["destinations"]) or "—")),
            para("Media: " + (", ".join(d["media_items"]) or "—"), mono)]))

    out = io.BytesIO()

    def footer(canvas, doc):
        canvas.saveState()
        canvas.setFont("Helvetica", 7)
        canvas.drawString(18 * mm, 10 * mm, f"{title} · page {doc.page}")
        canvas.restoreState()

    doc = SimpleDocTemplate(out, pagesize=A4, title=title, author="Release Desk", leftMargin=18 * mm,
                            rightMargin=18 * mm, topMargin=16 * mm, bottomMargin=16 * mm)
    doc.build(story, onFirstPage=footer, onLaterPages=footer)
    return out.getvalue()
