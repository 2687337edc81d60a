"""`releasedesk demo`: one user per role with fresh printed passwords, and sample cases in every
pathway at different stages, so the first command of the README opens a working inbox."""
from __future__ import annotations

import secrets
import struct
import zlib
from typing import TextIO

from sqlalchemy import select

from engine import EngineError, ReleaseDesk
from engine import queries as q
from engine.models import ProcessInstance, User
from engine.users import Actor, create_user, hash_password

DEMO_USERS = [
    ("requester", ["requester"], "Rita Requester (PC)"),
    ("sio", ["sio"], "DCI Sam Investigator (SIO)"),
    ("oic", ["oic"], "DS Olly Case (OIC)"),
    ("ccd", ["ccd"], "Cat Comms (press office)"),
    ("flo", ["flo"], "Fay Liaison (FLO)"),
    ("senior_ops", ["senior_ops"], "Supt Sol Ops"),
    ("head_of_comms", ["head_of_comms"], "Hana Head of Comms"),
    ("designer", ["designer"], "Dee Designer"),
    ("manager", ["manager"], "Max Manager"),
    ("admin", ["admin"], "Ada Admin"),
]

LEGAL_CLEAR = {
    "subject_is_juvenile": False, "reporting_restrictions_lifted": False,
    "reporting_restrictions_in_place": False, "proceedings_active": False, "identity_in_issue": False,
    "sexual_offence_complainant_depicted": False, "court_order_prevents_release": False,
}


def sample_png(rgb: tuple[int, int, int] = (31, 58, 104), size: int = 48) -> bytes:
    """A small solid-colour PNG, so demo cases have a real image attached."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    row = b"\x00" + bytes(rgb) * size
    raw = zlib.compress(row * size)
    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", raw) + chunk(b"IEND", b"")


def _users(desk: ReleaseDesk, out: TextIO) -> dict[str, Actor]:
    actors = {}
    out.write("Demo users (passwords are new each time `releasedesk demo` runs):\n")
    with desk.transaction() as s:
        for username, groups, name in DEMO_USERS:
            password = secrets.token_urlsafe(9)
            user = s.scalar(select(User).where(User.username == username))
            if user is None:
                create_user(s, username, password, groups, display_name=name)
            else:
                user.password_hash = hash_password(password)
            actors[groups[0]] = Actor(username, frozenset(groups))
            out.write(f"  {username:<14} {password:<14} {', '.join(groups)}\n")
    return actors


def _task(desk, s, instance_id, activity_id):
    manager = Actor("demo", frozenset({"manager"}))
    return [t for t in q.list_tasks(s, manager, instance_id=instance_id) if t["activityId"] == activity_id][0]


def _walk(desk: ReleaseDesk, key: str, business_key: str, start: dict, starter: Actor,
          steps: list[tuple[str, Actor, dict]]) -> None:
    with desk.transaction() as s:
        view = desk.runtime.start(s, key, business_key, start, starter)
    for activity_id, actor, values in steps:
        with desk.transaction() as s:
            task = _task(desk, s, view["id"], activity_id)
            desk.runtime.complete(s, task["id"], actor, values)


def _cases(desk: ReleaseDesk, a: dict[str, Actor]) -> int:
    with desk.transaction() as s:
        photo = desk.runtime.media.store(s, sample_png(), "appeal-photo.png", "requester", desk.clock()).digest
        cctv = desk.runtime.media.store(s, sample_png((120, 40, 40)), "cctv-still.png", "requester",
                                        desk.clock()).digest
    today = desk.clock().date().isoformat()
    approve = {"decision": "approve", "rationale": "Necessary and proportionate: other enquiries exhausted.",
               "risk_assessment": "Low risk to third parties; face only.", "images_verified": True,
               "lawful_necessary_proportionate": True}
    publish = {"channels": ["force_website", "social_media"], "transmission_method": "secure_portal",
               "published_urls": "https://www.example.police.uk/appeals/demo", "published_at": today,
               "conditions_attached": True}
    general = {"purpose": "criminal_investigation", "policing_purpose": "Identify the suspect in a jewellery theft",
               "justification": "CCTV enquiries and forensics exhausted", "media_items": [cctv], **LEGAL_CLEAR}
    wanted = {"person_description": "Male, 30s, tattoo on left hand", "offence": "Burglary",
              "necessity_justification": "Evading arrest for three weeks", "media_items": [photo], **LEGAL_CLEAR}
    plans = [
        ("general_release", "DEMO-GR-001", {"summary": "CCTV still: theft from a jeweller's, High Street", **general},
         a["requester"], []),
        ("general_release", "DEMO-GR-002", {"summary": "CCTV still: criminal damage at a bus station", **general},
         a["requester"], [("approve_release", a["sio"], approve),
                          ("prepare_release", a["ccd"], {k: publish[k] for k in
                                                         ("channels", "transmission_method", "conditions_attached")}),
                          ("publish_release", a["ccd"], {k: publish[k] for k in ("published_urls", "published_at")})]),
        ("wanted_person", "DEMO-WP-001", {"summary": "Wanted for burglary", **wanted}, a["requester"], []),
        ("wanted_person", "DEMO-WP-002", {"summary": "Wanted for robbery", **wanted}, a["requester"],
         [("approve_release", a["oic"], approve), ("publish_appeal", a["ccd"], publish)]),
        ("missing_person", "DEMO-MP-001", {"summary": "Missing since Friday evening", "risk_level": "high",
                                           "previously_in_custody": True, "person_description": "Age 16, slim"},
         a["requester"], []),
        ("tribute_image", "DEMO-TI-001", {"summary": "Tribute after a road collision", "deceased_name": "J. Smith",
                                          "family_consent": True, "family_wording": "A loving father.",
                                          "media_items": [photo]}, a["flo"], []),
        ("custody_image", "DEMO-CI-001", {"summary": "Convicted of GBH today", "offender_name": "A. Person",
                                          "offence": "Grievous bodily harm", "conviction_date": today,
                                          "sentence_type": "custodial", "media_request": True,
                                          "policing_purpose": "Public reassurance", **LEGAL_CLEAR}, a["ccd"], []),
        ("bwv_release", "DEMO-BWV-001", {"summary": "Disorder outside a stadium", "purpose": "public_reassurance",
                                         "high_profile": True, "third_parties_depicted": True, **LEGAL_CLEAR},
         a["requester"], []),
    ]
    created = 0
    for key, business_key, start, starter, steps in plans:
        with desk.transaction() as s:
            if q.find_definition(s, key) is None:
                continue
            exists = s.scalar(select(ProcessInstance.id).where(ProcessInstance.business_key == business_key))
        if exists:
            continue
        try:
            _walk(desk, key, business_key, start, starter, steps)
            created += 1
        except EngineError as exc:  # a sample that no longer fits an edited diagram should not stop the demo
            print(f"  (sample {business_key} skipped: {exc.message} {exc.details})")
    # One live wanted appeal whose suspect was arrested: the removal task is waiting.
    with desk.transaction() as s:
        if s.scalar(select(ProcessInstance.id).where(ProcessInstance.business_key == "DEMO-WP-002",
                                                     ProcessInstance.state == "active")):
            try:
                desk.runtime.correlate(s, "person_apprehended", "DEMO-WP-002",
                                       {"note": "Arrest reported by the response team"}, a["oic"])
            except EngineError:
                pass
    return created


def seed(desk: ReleaseDesk, out: TextIO) -> None:
    desk.migrate()
    with desk.transaction() as s:
        deployed = desk.deploy_workflows(s)
    out.write(f"Deployed {len(deployed['definitions'])} pathway(s).\n")
    actors = _users(desk, out)
    created = _cases(desk, actors)
    out.write(f"Sample cases created: {created} (existing ones are kept).\n")
