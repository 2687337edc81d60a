"""Live cases for the security tests, walked through the engine by the right people (the usernames
of tests.conftest.USERS, so that page visibility follows who started and who worked each case)."""
from __future__ import annotations

from sqlalchemy import func, select

from engine import Actor, queries
from engine.models import AuditRecord, ProcessInstance
from tests.engine.driver import LEGAL_CLEAR, Case, media

GROUP_USERS = {"requester": "rita", "sio": "sam", "oic": "olly", "ccd": "cat", "flo": "fay",
               "senior_ops": "sol", "head_of_comms": "hana", "designer": "dee", "manager": "max", "admin": "ada"}
SENDERS = {"person_apprehended": {"oic", "sio", "ccd"}, "appeal_withdrawn": {"oic", "sio", "ccd"},
           "person_found": {"oic", "sio", "ccd", "flo"}, "conviction_recorded": {"ccd", "requester"}}
PATHWAY_OF = {"person_apprehended": "wanted", "appeal_withdrawn": "wanted", "person_found": "missing"}
REQUESTER, OIC, SIO, CCD = (Actor("rita", frozenset({"requester"})), Actor("olly", frozenset({"oic"})),
                            Actor("sam", frozenset({"sio"})), Actor("cat", frozenset({"ccd"})))
PUBLISH = {"channels": ["force_website"], "transmission_method": "secure_portal",
           "published_urls": "https://police.example/appeal", "published_at": "2024-05-01",
           "conditions_attached": True}


def live_wanted(desk, key: str = "WP-SEC-1") -> Case:
    case = Case(desk, "wanted_person", key, {
        "summary": "Wanted for robbery", "person_description": "Male, 30s", "offence": "Robbery",
        "necessity_justification": "Evading arrest", "media_items": [media(desk)], **LEGAL_CLEAR}, REQUESTER)
    case.complete("approve_release", SIO, {"decision": "approve", "rationale": "Necessary", "risk_assessment": "Low",
                                           "images_verified": True, "lawful_necessary_proportionate": True})
    case.complete("publish_appeal", CCD, PUBLISH)
    assert case.open_activities() == []
    return case


def live_missing(desk, key: str = "MP-SEC-1") -> Case:
    case = Case(desk, "missing_person", key, {"summary": "Missing from home", "risk_level": "high",
                                              "previously_in_custody": False, "person_description": "Female, 16"},
                REQUESTER)
    case.complete("obtain_family_image", OIC, {"image_obtained": True, "image_source": "Mother", "image_recent": True,
                                               "media_items": [media(desk, (200, 10, 10))]})
    case.complete("assess_information_release", OIC, {"information_to_release": "Name and age",
                                                      "withheld_information": "", "risk_assessment": "High risk"})
    case.complete("publish_appeal", CCD, {**PUBLISH, "image_used": "family_image"})
    assert case.open_activities() == []
    return case


def live_case(desk, message: str) -> Case:
    return live_wanted(desk) if PATHWAY_OF[message] == "wanted" else live_missing(desk)


def snapshot(desk, instance_id: int) -> tuple:
    """Everything a refused message must leave as it was: state, position, variables, the case's audit
    trail (reads of it and sign-ins are recorded elsewhere and do not count), the number of cases."""
    with desk.read() as s:
        view = queries.instance_view(s, queries.get_instance(s, instance_id))
        audit = s.scalar(select(func.count()).select_from(AuditRecord).where(
            AuditRecord.instance_id == instance_id, AuditRecord.action != "read"))
        cases = s.scalar(select(func.count()).select_from(ProcessInstance))
    return view["state"], view["activeActivities"], view["variables"], audit, cases
