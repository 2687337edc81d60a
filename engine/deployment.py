"""Validate and deploy BPMN/DMN files as new definition versions.

A process gets a new version only when its content changed: the hash covers the BPMN file and every
DMN file its business rule tasks use, so changing a decision table versions the processes that use
it. Running instances keep the version they started on."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from lxml import etree
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.camunda.parser.CamundaParser import CamundaParser
from SpiffWorkflow.exceptions import SpiffWorkflowException
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from . import audit
from .catalog import CAMUNDA, NS, build_catalog, dmn_problems
from .errors import DeploymentRejected
from .models import Deployment, ProcessDefinition, Resource
from .queries import find_definition
from .specs import spec_to_json, xsd_validator
from .users import Actor
from .xmlsafe import UnsafeXml, parse_xml


@dataclass
class _File:
    name: str
    content: bytes
    kind: str
    tree: Any = None
    catalogs: list | None = None
    decisions: list | None = None

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.content).hexdigest()


def _read(files: list[tuple[str, bytes]]) -> tuple[list[_File], list[dict]]:
    problems: list[dict] = []
    parsed: list[_File] = []
    if not files:
        problems.append({"file": None, "line": None, "element": None, "message": "no files given"})
    for name, content in files:
        kind = name.rsplit(".", 1)[-1].lower() if "." in name else ""
        if kind not in ("bpmn", "dmn"):
            problems.append({"file": name, "line": None, "element": None,
                             "message": "only .bpmn and .dmn files can be deployed"})
            continue
        try:
            tree = parse_xml(content)
        except UnsafeXml as exc:
            problems.append({"file": name, "line": exc.line, "element": None, "message": str(exc)})
            continue
        f = _File(name, content, kind, tree)
        if kind == "dmn":
            f.decisions, found = dmn_problems(tree, name)
        else:
            try:
                xsd_validator().validate(tree.getroot(), name)
                found = []
            except ValidationException as exc:
                found = [{"file": name, "line": exc.line_number or None, "element": exc.id or None,
                          "message": f"BPMN schema: {exc}"}]
            if not found:
                f.catalogs, found = build_catalog(tree, name)
        problems.extend(found)
        parsed.append(f)
    return parsed, problems


def _decision_refs(tree) -> set[str]:
    return {n.get(f"{{{CAMUNDA}}}decisionRef") for n in tree.xpath("//bpmn:businessRuleTask", namespaces=NS)} - {None}


def _deployed_dmns(session: Session) -> dict[str, Resource]:
    """The newest deployed DMN resource for each decision id."""
    found: dict[str, Resource] = {}
    for res in session.scalars(select(Resource).where(Resource.kind == "dmn").order_by(Resource.id)):
        for decision in res.decision_ids:
            found[decision] = res
    return found


def deploy(session: Session, files: list[tuple[str, bytes]], actor: Actor, now: datetime,
           source: str = "api") -> dict[str, Any]:
    """Deploy files; raise DeploymentRejected (nothing stored) when any file has a problem."""
    parsed, problems = _read(files)
    if problems:
        raise DeploymentRejected(problems)

    # Decision tables: the new files win over the deployed ones, decision by decision.
    deployed = _deployed_dmns(session)
    dmn_by_decision: dict[str, tuple[str, bytes]] = {d: (r.name, r.content) for d, r in deployed.items()}
    changed_decisions = set()
    for f in (f for f in parsed if f.kind == "dmn"):
        for decision in f.decisions:
            old = deployed.get(decision)
            if old is None or old.content_hash != f.digest:
                changed_decisions.add(decision)
            dmn_by_decision[decision] = (f.name, f.content)

    # Processes to (re)build: the uploaded ones, plus deployed ones whose decision tables changed.
    bpmns = [f for f in parsed if f.kind == "bpmn"]
    uploaded_keys = {c["key"] for f in bpmns for c in f.catalogs}
    if changed_decisions:
        for key in session.scalars(select(ProcessDefinition.key).distinct()):
            if key in uploaded_keys:
                continue
            latest = find_definition(session, key)
            if _decision_refs(parse_xml(latest.resource.content)) & changed_decisions:
                f = _File(latest.resource.name, latest.resource.content, "bpmn", parse_xml(latest.resource.content))
                f.catalogs, _ = build_catalog(f.tree, f.name)
                bpmns.append(f)

    built = []
    for f in bpmns:
        refs = _decision_refs(f.tree)
        missing = sorted(refs - set(dmn_by_decision))
        if missing:
            problems.append({"file": f.name, "line": None, "element": None,
                             "message": f"decision table(s) not deployed: {', '.join(missing)}"})
            continue
        parser = CamundaParser()
        dmn_hashes = []
        for decision in sorted(refs):
            name, content = dmn_by_decision[decision]
            parser.add_dmn_xml(parse_xml(content).getroot(), filename=name)
            dmn_hashes.append(hashlib.sha256(content).hexdigest())
        try:
            parser.add_bpmn_xml(f.tree, filename=f.name)
            for catalog in f.catalogs:
                spec = parser.get_spec(catalog["key"])
                subprocess_specs = parser.get_subprocess_specs(catalog["key"])
                digest = hashlib.sha256((f.digest + "".join(dmn_hashes)).encode()).hexdigest()
                built.append((f, catalog, spec_to_json(spec, subprocess_specs), digest))
        except ValidationException as exc:
            problems.append({"file": exc.file_name or f.name, "line": exc.line_number or None,
                             "element": exc.id or None, "message": str(exc).split("\n")[0]})
        except (SpiffWorkflowException, etree.LxmlError, KeyError, ValueError) as exc:
            problems.append({"file": f.name, "line": None, "element": None, "message": f"cannot parse: {exc}"})
    if problems:
        raise DeploymentRejected(problems)

    result, to_create = [], []
    for f, catalog, spec_json, digest in built:
        latest = find_definition(session, catalog["key"])
        if latest is not None and latest.content_hash == digest:
            result.append({"key": catalog["key"], "version": latest.version, "changed": False})
        else:
            to_create.append((f, catalog, spec_json, digest))
    new_dmns = [f for f in parsed if f.kind == "dmn" and any(d in changed_decisions for d in f.decisions)]
    if not to_create and not new_dmns:
        return {"id": None, "definitions": result}

    deployment = Deployment(deployed_at=now, deployed_by=actor.username, source=source)
    session.add(deployment)
    session.flush()
    resources: dict[str, Resource] = {}

    def resource_for(f: _File) -> Resource:
        if f.digest not in resources:
            res = Resource(deployment_id=deployment.id, name=f.name, kind=f.kind, content_hash=f.digest,
                           content=f.content, decision_ids=f.decisions or [])
            session.add(res)
            session.flush()
            resources[f.digest] = res
        return resources[f.digest]

    for f in new_dmns:
        resource_for(f)
    for f, catalog, spec_json, digest in to_create:
        version = (session.scalar(select(func.max(ProcessDefinition.version))
                                  .where(ProcessDefinition.key == catalog["key"])) or 0) + 1
        session.add(ProcessDefinition(
            key=catalog["key"], version=version, name=catalog["name"], content_hash=digest,
            resource_id=resource_for(f).id, deployment_id=deployment.id, deployed_at=now,
            deployed_by=actor.username, catalog=catalog, spec_json=spec_json,
        ))
        result.append({"key": catalog["key"], "version": version, "changed": True})
    session.flush()
    changed = [r for r in result if r["changed"]]
    audit.append(session, at=now, actor=actor.username, group=actor.first_group_of(["designer", "admin"]),
                 action="deploy",
                 data={"deployment": deployment.id, "files": [f.name for f in parsed],
                       "definitions": [{"key": r["key"], "version": r["version"]} for r in changed]})
    return {"id": deployment.id, "definitions": result}
