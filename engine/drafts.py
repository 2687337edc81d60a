"""Review before live: draft versions, their review, publication by a second person, roll back.

A draft is a stored definition version (it passed every deploy check) that new cases do not start
on: `queries.latest_definitions` and `find_definition(key)` see only published versions. Publishing
needs someone in `designer` or `manager` who is not the draft's author; the checks run again at that
moment (a called process or a decision table may have changed since), and the audit record names
both people. Rolling back is publishing an earlier version again: the live version of a pathway is
the published one published last."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from . import audit
from .errors import Conflict, DeploymentRejected, NotAllowed
from .models import DefinitionPublication, ProcessDefinition
from .queries import find_definition, get_definition, iso, live_definition_id
from .users import Actor
from .versions import diff_xml

REVIEW_GROUPS = ("designer", "manager")


def version_states(session: Session, key: str) -> dict[int, dict[str, Any]]:
    """version -> {"status": "draft" | "live" | "published", "publishedAt", "publishedBy"}."""
    live_id = live_definition_id(session, key)
    rows = session.execute(
        select(ProcessDefinition.id, ProcessDefinition.version, ProcessDefinition.deployed_at, DefinitionPublication)
        .outerjoin(DefinitionPublication, DefinitionPublication.definition_id == ProcessDefinition.id)
        .where(ProcessDefinition.key == key)).all()
    states = {}
    for definition_id, version, deployed_at, pub in rows:
        if pub is not None and pub.status == "draft":
            status = "draft"
        else:
            status = "live" if definition_id == live_id else "published"
        states[version] = {"status": status,
                           "publishedAt": iso(pub.published_at if pub and pub.published_at else
                                              (None if pub else deployed_at)),
                           "publishedBy": pub.published_by if pub else None}
    return states


def is_draft(session: Session, definition: ProcessDefinition) -> bool:
    pub = session.get(DefinitionPublication, definition.id)
    return pub is not None and pub.status == "draft"


def check_results(session: Session, definition: ProcessDefinition) -> list[dict[str, Any]]:
    """The deploy checks run again on a stored version: [] when it would still deploy."""
    from .deployment import check  # deployment imports queries; drafts is imported by web only
    try:
        check(session, [(definition.resource.name, definition.resource.content)])
    except DeploymentRejected as exc:
        return exc.problems
    return []


def review(session: Session, key: str, version: int) -> dict[str, Any]:
    """What a reviewer sees: the version, its author, the diff against the live version and the
    check results."""
    definition = get_definition(session, key, version)
    live = find_definition(session, key)
    diff = diff_xml(live.resource.content, definition.resource.content) if live is not None else None
    if diff is not None:
        diff.update({"key": key, "from": live.version, "to": version})
    return {"key": key, "version": version, "name": definition.name, "author": definition.deployed_by,
            "savedAt": iso(definition.deployed_at), "state": version_states(session, key)[version],
            "live": live.version if live is not None else None, "diff": diff,
            "problems": check_results(session, definition)}


def publish(session: Session, key: str, version: int, actor: Actor, now: datetime) -> dict[str, Any]:
    """Make `version` the live version of `key`. A draft needs a reviewer other than its author."""
    if not actor.in_any(REVIEW_GROUPS):
        raise NotAllowed("only designers and managers may publish a version")
    definition = get_definition(session, key, version)
    live = find_definition(session, key)
    if live is not None and live.id == definition.id:
        raise Conflict(f"version {version} of {key} is already live")
    pub = session.get(DefinitionPublication, definition.id)
    draft = pub is not None and pub.status == "draft"
    if draft and definition.deployed_by == actor.username:
        raise NotAllowed("a draft goes live only when someone else reviews it: ask another designer or a manager")
    problems = check_results(session, definition)
    if problems:
        raise DeploymentRejected(problems)
    if pub is None:
        pub = DefinitionPublication(definition_id=definition.id, status="published")
        session.add(pub)
    pub.status, pub.published_at, pub.published_by = "published", now, actor.username
    session.flush()
    data = {"key": key, "version": version, "author": definition.deployed_by, "publisher": actor.username,
            "previousVersion": live.version if live is not None else None,
            "rollback": not draft, "checks": "passed"}
    audit.append(session, at=now, actor=actor.username, group=actor.first_group_of(REVIEW_GROUPS),
                 action="publish", data=data)
    return data
