"""Validate and deploy BPMN/DMN files as new definition versions: what deploy accepts, runs.

Every check runs before anything is stored: the schema and our lint per file (catalog, DMN
checks), then the checks that need all files at once (call activities resolved across the upload
and what is deployed, recursion, variables nothing sets), then SpiffWorkflow builds the specs. A
process gets a new version only when its content changed: the hash covers the BPMN file, every DMN
file its business rule tasks use and every file holding a process it calls. Running instances keep
the version they started with. With `draft=True` the new versions wait for review (engine.drafts)."""
from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.camunda.parser.CamundaParser import CamundaParser
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from . import audit
from .catalog import BPMN, CAMUNDA, build_catalog
from .deploy_checks import call_problems, called_activities, related_sets, variable_problems
from .dmn_checks import dmn_problems, split_decision
from .errors import DeploymentRejected
from .models import DefinitionPublication, Deployment, ProcessDefinition, Resource
from .queries import find_definition
from .specs import spec_to_json, xsd_validator
from .users import Actor
from .xmlsafe import UnsafeXml, parse_xml

log = logging.getLogger(__name__)
PRIVATE_KEYS = ("uses", "timers")  # deploy-time only; not stored in the catalog


@dataclass
class _File:
    name: str
    content: bytes
    kind: str
    tree: Any = None
    catalogs: list | None = None
    decisions: list | None = None  # DMN: [{"id", "inputs", "outputs"}]

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.content).hexdigest()


def _problem(file, line, element, message) -> dict:
    return {"file": file, "line": line, "element": element, "message": message}


def _read(files: list[tuple[str, bytes]]) -> tuple[list[_File], list[dict]]:
    problems: list[dict] = []
    parsed: list[_File] = []
    if not files:
        problems.append(_problem(None, None, None, "no files given"))
    for name, content in files:
        kind = name.rsplit(".", 1)[-1].lower() if "." in name else ""
        if kind not in ("bpmn", "dmn"):
            problems.append(_problem(name, None, None, "only .bpmn and .dmn files can be deployed"))
            continue
        try:
            tree = parse_xml(content)
        except UnsafeXml as exc:
            problems.append(_problem(name, exc.line, None, str(exc)))
            continue
        f = _File(name, content, kind, tree)
        if kind == "dmn":
            f.decisions, found = dmn_problems(tree, name)
        else:
            try:
                xsd_validator().validate(tree.getroot(), name)
                found = []
            except ValidationException as exc:
                found = [_problem(name, exc.line_number or None, exc.id or None, f"BPMN schema: {_readable(str(exc))}")]
            if not found:
                f.catalogs, found = build_catalog(tree, name)
        problems.extend(found)
        parsed.append(f)
    return parsed, problems


def _readable(message: str) -> str:
    """Schema messages name elements as {namespace}tag; say bpmn:tag and camunda:tag as a modeler does."""
    for uri, prefix in ((BPMN, "bpmn:"), (CAMUNDA, "camunda:")):
        message = message.replace("{" + uri + "}", prefix)
    return message.split("\n")[0]


def _deployed_dmns(session: Session) -> dict[str, Resource]:
    """The newest deployed DMN resource for each decision id."""
    found: dict[str, Resource] = {}
    for res in session.scalars(select(Resource).where(Resource.kind == "dmn").order_by(Resource.id)):
        for decision in res.decision_ids:
            found[decision] = res
    return found


def _newest(session: Session, key: str) -> ProcessDefinition | None:
    """The newest version of `key`, draft or live: a save identical to it makes no new version."""
    return session.scalars(select(ProcessDefinition).where(ProcessDefinition.key == key)
                           .order_by(ProcessDefinition.version.desc()).limit(1)).first()


def _deployed_catalog(session: Session, key: str) -> dict | None:
    definition = find_definition(session, key)
    if definition is None:
        return None
    catalog = definition.catalog
    if "calls" not in catalog:  # stored before call activities were catalogued
        catalogs, _ = build_catalog(parse_xml(definition.resource.content), definition.resource.name)
        catalog = next((c for c in catalogs if c["key"] == key), catalog)
    return catalog


class _Decisions:
    """Decision id -> (file name, content, info), the uploaded files winning over deployed ones."""

    def __init__(self, session: Session, parsed: list[_File]) -> None:
        self.deployed = _deployed_dmns(session)
        self.by_id: dict[str, tuple[str, bytes, dict]] = {}
        self.changed: set[str] = set()
        for decision, res in self.deployed.items():
            self.by_id[decision] = (res.name, res.content, {})
        for f in (f for f in parsed if f.kind == "dmn"):
            for info in f.decisions:
                old = self.deployed.get(info["id"])
                if old is None or old.content_hash != f.digest:
                    self.changed.add(info["id"])
                self.by_id[info["id"]] = (f.name, f.content, info)

    def info(self, decision: str) -> dict:
        name, content, info = self.by_id[decision]
        if not info:
            found, _ = dmn_problems(parse_xml(content), name)
            info = next((i for i in found if i["id"] == decision), {"inputs": [], "outputs": []})
            self.by_id[decision] = (name, content, info)
        return info


def _cross_file_problems(session: Session, bpmns: list[_File], decisions: _Decisions) -> list[dict]:
    problems: list[dict] = []
    uploaded = {c["key"]: (f.name, c) for f in bpmns for c in f.catalogs}
    problems += call_problems(uploaded, lambda key: _deployed_catalog(session, key))
    known = {key: cat for key, (_f, cat) in uploaded.items()}
    for key in {call["process"] for _f, cat in uploaded.values() for call in cat["calls"]} - set(known):
        cat = _deployed_catalog(session, key)
        if cat is not None:
            known[key] = cat
    for key, (file, cat) in uploaded.items():
        missing = [ref for ref in cat["decisions"] if ref["decision"] not in decisions.by_id]
        for ref in missing:
            problems.append(_problem(file, ref["line"], ref["element"],
                                     f"decision {ref['decision']!r} is neither in the files uploaded together "
                                     "nor deployed"))
        outputs = {n for ref in cat["decisions"] if ref not in missing
                   for n in decisions.info(ref["decision"])["outputs"]}
        inputs = {ref["decision"]: decisions.info(ref["decision"])["inputs"]
                  for ref in cat["decisions"] if ref not in missing}
        problems += variable_problems(file, cat, outputs | related_sets(key, known), inputs)
        for activity_id, activity in called_activities(key, known).items():
            cat["activities"].setdefault(activity_id, activity)
    return problems


def _called_files(session: Session, f: _File, bpmns: list[_File]) -> list[tuple[str, bytes, Any]]:
    """Other files holding the processes `f` calls, transitively: uploaded ones first, then the live
    deployed versions."""
    by_key = {c["key"]: g for g in bpmns for c in g.catalogs}
    out: dict[str, tuple[str, bytes, Any]] = {}
    todo = [call["process"] for c in f.catalogs for call in c["calls"]]
    seen = {c["key"] for c in f.catalogs}
    while todo:
        key = todo.pop()
        if key in seen:
            continue
        seen.add(key)
        if key in by_key:
            g = by_key[key]
            if g is not f:
                out[g.digest] = (g.name, g.content, g.tree)
            todo += [call["process"] for c in g.catalogs for call in c["calls"]]
            continue
        definition = find_definition(session, key)
        if definition is not None:
            res = definition.resource
            out[res.content_hash] = (res.name, res.content, parse_xml(res.content))
            todo += [call["process"] for call in _deployed_catalog(session, key).get("calls", [])]
    return list(out.values())


def _build(session: Session, f: _File, bpmns: list[_File], decisions: _Decisions, problems: list) -> list:
    parser = CamundaParser()
    refs = sorted({ref["decision"] for c in f.catalogs for ref in c["decisions"]})
    hashes = []
    try:
        for decision in refs:
            name, content, _info = decisions.by_id[decision]
            parser.add_dmn_xml(split_decision(parse_xml(content).getroot(), decision), filename=name)
            hashes.append(hashlib.sha256(content).hexdigest())
        parser.add_bpmn_xml(f.tree, filename=f.name)
        for name, content, tree in _called_files(session, f, bpmns):
            parser.add_bpmn_xml(tree, filename=name)
            hashes.append(hashlib.sha256(content).hexdigest())
        built = []
        for catalog in f.catalogs:
            spec = parser.get_spec(catalog["key"])
            subprocess_specs = parser.get_subprocess_specs(catalog["key"])
            digest = hashlib.sha256((f.digest + "".join(hashes)).encode()).hexdigest()
            built.append((f, catalog, spec_to_json(spec, subprocess_specs), digest))
        return built
    except ValidationException as exc:
        problems.append(_problem(exc.file_name or f.name, exc.line_number or None, exc.id or None,
                                 str(exc).split("\n")[0]))
    except Exception:  # never show a parser's internals (AttributeError, KeyError on a tag) to a designer
        log.exception("SpiffWorkflow could not build %s", f.name)
        problems.append(_problem(f.name, None, None, "the engine could not read this diagram: it uses an element "
                                 "or attribute the product does not support (see the designer's guide)"))
    return []


def check(session: Session, files: list[tuple[str, bytes]]) -> tuple[list[_File], _Decisions, list]:
    """Run every check; return (files, decisions, built specs) or raise DeploymentRejected."""
    parsed, problems = _read(files)
    if problems:
        raise DeploymentRejected(problems)
    decisions = _Decisions(session, parsed)
    # Processes to (re)build: the uploaded ones, plus deployed ones whose decision tables changed.
    bpmns = [f for f in parsed if f.kind == "bpmn"]
    uploaded_keys = {c["key"] for f in bpmns for c in f.catalogs}
    if decisions.changed:
        for key in session.scalars(select(ProcessDefinition.key).distinct()):
            latest = find_definition(session, key)
            if key in uploaded_keys or latest is None:
                continue
            if {r["decision"] for r in _deployed_catalog(session, key).get("decisions", [])} & decisions.changed:
                f = _File(latest.resource.name, latest.resource.content, "bpmn", parse_xml(latest.resource.content))
                f.catalogs, _ = build_catalog(f.tree, f.name)
                bpmns.append(f)
    problems = _cross_file_problems(session, bpmns, decisions)
    if problems:
        raise DeploymentRejected(problems)
    built = []
    for f in bpmns:
        built += _build(session, f, bpmns, decisions, problems)
    if problems:
        raise DeploymentRejected(problems)
    return parsed, decisions, built


def deploy(session: Session, files: list[tuple[str, bytes]], actor: Actor, now: datetime,
           source: str = "api", draft: bool = False) -> dict[str, Any]:
    """Deploy files; raise DeploymentRejected (nothing stored) when any file has a problem.
    `draft=True`: the new versions are drafts, live only once someone else publishes them."""
    parsed, decisions, built = check(session, files)
    result, to_create = [], []
    for f, catalog, spec_json, digest in built:
        # Unchanged when it equals the live version (a restart's `init` while a draft waits) or the
        # newest one (saving the same draft twice).
        same = [d for d in (find_definition(session, catalog["key"]), _newest(session, catalog["key"]))
                if d is not None and d.content_hash == digest]
        if same:
            result.append({"key": catalog["key"], "version": same[0].version, "changed": False})
        else:
            to_create.append((f, catalog, spec_json, digest))
    new_dmns = [f for f in parsed if f.kind == "dmn" and any(d["id"] in decisions.changed for d in f.decisions)]
    if not to_create and not new_dmns:
        return {"id": None, "definitions": result}

    deployment = Deployment(deployed_at=now, deployed_by=actor.username, source=source)
    session.add(deployment)
    session.flush()
    resources: dict[str, Resource] = {}

    def resource_for(f: _File) -> Resource:
        if f.digest not in resources:
            res = Resource(deployment_id=deployment.id, name=f.name, kind=f.kind, content_hash=f.digest,
                           content=f.content, decision_ids=[d["id"] for d in f.decisions or []])
            session.add(res)
            session.flush()
            resources[f.digest] = res
        return resources[f.digest]

    for f in new_dmns:
        resource_for(f)
    for f, catalog, spec_json, digest in to_create:
        version = (session.scalar(select(func.max(ProcessDefinition.version))
                                  .where(ProcessDefinition.key == catalog["key"])) or 0) + 1
        stored = {k: v for k, v in catalog.items() if k not in PRIVATE_KEYS}
        definition = ProcessDefinition(
            key=catalog["key"], version=version, name=catalog["name"], content_hash=digest,
            resource_id=resource_for(f).id, deployment_id=deployment.id, deployed_at=now,
            deployed_by=actor.username, catalog=stored, spec_json=spec_json,
        )
        session.add(definition)
        if draft:
            session.flush()
            session.add(DefinitionPublication(definition_id=definition.id, status="draft"))
        result.append({"key": catalog["key"], "version": version, "changed": True,
                       **({"status": "draft"} if draft else {})})
    session.flush()
    changed = [r for r in result if r["changed"]]
    audit.append(session, at=now, actor=actor.username, group=actor.first_group_of(["designer", "admin"]),
                 action="draft" if draft else "deploy",
                 data={"deployment": deployment.id, "files": [f.name for f in parsed],
                       "definitions": [{"key": r["key"], "version": r["version"]} for r in changed]})
    return {"id": deployment.id, "definitions": result}
