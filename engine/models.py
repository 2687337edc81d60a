"""Typed tables. Workflow state is one JSON document per instance; everything the inbox, lists and
dashboards read is a projection written in the same transaction (human tasks, positions, waiting
subscriptions), so no list view ever deserializes a workflow."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    Sequence,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    display_name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    groups: Mapped[list[UserGroup]] = relationship(
        back_populates="user", cascade="all, delete-orphan", lazy="selectin"
    )

    @property
    def group_names(self) -> list[str]:
        return sorted(g.group_name for g in self.groups)


class UserGroup(Base):
    __tablename__ = "user_groups"
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    group_name: Mapped[str] = mapped_column(String(40), primary_key=True)
    user: Mapped[User] = relationship(back_populates="groups")


class Deployment(Base):
    __tablename__ = "deployments"
    id: Mapped[int] = mapped_column(primary_key=True)
    deployed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    deployed_by: Mapped[str] = mapped_column(String(80))
    source: Mapped[str] = mapped_column(String(40), default="api")


class Resource(Base):
    """Every deployed BPMN/DMN file, once per content hash."""

    __tablename__ = "resources"
    id: Mapped[int] = mapped_column(primary_key=True)
    deployment_id: Mapped[int] = mapped_column(ForeignKey("deployments.id"))
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(10))  # bpmn | dmn
    content_hash: Mapped[str] = mapped_column(String(64), index=True)
    content: Mapped[bytes] = mapped_column(LargeBinary)
    decision_ids: Mapped[list] = mapped_column(JSON, default=list)


class ProcessDefinition(Base):
    __tablename__ = "process_definitions"
    __table_args__ = (UniqueConstraint("key", "version", name="uq_definition_key_version"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(100), index=True)
    version: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(200))
    content_hash: Mapped[str] = mapped_column(String(64))
    resource_id: Mapped[int] = mapped_column(ForeignKey("resources.id"))
    deployment_id: Mapped[int] = mapped_column(ForeignKey("deployments.id"))
    deployed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    deployed_by: Mapped[str] = mapped_column(String(80))
    catalog: Mapped[dict] = mapped_column(JSON)
    spec_json: Mapped[str] = mapped_column(Text, deferred=True)  # large; read once per content via specs
    resource: Mapped[Resource] = relationship(lazy="select")


class ProcessInstance(Base):
    __tablename__ = "process_instances"
    __table_args__ = (
        Index("ix_instances_key_state_started", "key", "state", "started_at"),
        Index("ix_instances_state_started", "state", "started_at"),
        Index("ix_instances_started", "started_at", "id"),  # newest first, date ranges (migration 0002)
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    definition_id: Mapped[int] = mapped_column(ForeignKey("process_definitions.id"), index=True)
    key: Mapped[str] = mapped_column(String(100))
    version: Mapped[int] = mapped_column(Integer)
    business_key: Mapped[str] = mapped_column(String(200), index=True)
    state: Mapped[str] = mapped_column(String(20), default="active")
    outcome: Mapped[str | None] = mapped_column(String(200), nullable=True)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    started_by: Mapped[str] = mapped_column(String(80))
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    workflow_json: Mapped[str] = mapped_column(Text)
    version_id: Mapped[int] = mapped_column(Integer, nullable=False)
    definition: Mapped[ProcessDefinition] = relationship(lazy="select")

    __mapper_args__ = {"version_id_col": version_id}

    #: Not a column: whether the case had an open incident when a command locked it (read in the
    #: same statement); None when not known. Lets a step skip closing incidents when there are none.
    open_incident = None


class HumanTask(Base):
    """Projection of a ready (or finished) user task, keyed by the engine's task id."""

    __tablename__ = "human_tasks"
    __table_args__ = (
        Index("ix_tasks_state_created", "state", "created_at"),
        Index("ix_tasks_instance_state", "instance_id", "state"),
        Index("ix_tasks_assignee_state", "assignee", "state"),
        Index("ix_tasks_state_due", "state", "due_at"),
    )
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instances.id", ondelete="CASCADE"))
    process_key: Mapped[str] = mapped_column(String(100))
    business_key: Mapped[str] = mapped_column(String(200), index=True)
    activity_id: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(200))
    lane: Mapped[str | None] = mapped_column(String(200), nullable=True)
    candidate_groups: Mapped[str] = mapped_column(String(400))  # "sio,oic"
    assignee: Mapped[str | None] = mapped_column(String(80), nullable=True)
    state: Mapped[str] = mapped_column(String(20), default="open")  # open|completed|cancelled
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    completed_by: Mapped[str | None] = mapped_column(String(80), nullable=True)
    # Loaded only when used (a migration): commands read `candidate_groups`, lists query the table.
    groups: Mapped[list[HumanTaskGroup]] = relationship(
        cascade="all, delete-orphan", lazy="select"
    )

    @property
    def candidate_group_list(self) -> list[str]:
        return [g for g in self.candidate_groups.split(",") if g]


class HumanTaskGroup(Base):
    __tablename__ = "human_task_groups"
    __table_args__ = (Index("ix_task_groups_group", "group_name", "task_id"),)
    task_id: Mapped[str] = mapped_column(ForeignKey("human_tasks.id", ondelete="CASCADE"), primary_key=True)
    group_name: Mapped[str] = mapped_column(String(40), primary_key=True)


class ActivityPosition(Base):
    """Where each active instance currently stands (user tasks, waiting events)."""

    __tablename__ = "activity_positions"
    __table_args__ = (Index("ix_positions_activity", "process_key", "activity_id", "instance_id"),)
    instance_id: Mapped[int] = mapped_column(
        ForeignKey("process_instances.id", ondelete="CASCADE"), primary_key=True
    )
    activity_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    process_key: Mapped[str] = mapped_column(String(100))
    since: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Subscription(Base):
    """A waiting message or timer, so correlation and timer firing never scan workflows."""

    __tablename__ = "subscriptions"
    __table_args__ = (
        Index("ix_subscriptions_message", "kind", "name", "business_key"),
        Index("ix_subscriptions_due", "kind", "due_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instances.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(10))  # message | timer
    name: Mapped[str] = mapped_column(String(200))
    activity_id: Mapped[str] = mapped_column(String(100))
    business_key: Mapped[str] = mapped_column(String(200))
    due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    # A timer worker's lease on a due timer (migration 0009): others skip it until it runs out.
    claimed_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class AuditRecord(Base):
    """Append-only and hash-chained per stream (a case, or a shard of case-less records): each row
    holds the hash of the row before it in its stream. `seq` is global and increasing, for order."""

    __tablename__ = "audit_records"
    __table_args__ = (
        Index("ix_audit_instance_seq", "instance_id", "seq"),
        Index("ix_audit_actor_seq", "actor", "seq"),
        Index("ix_audit_action_seq", "action", "seq"),
        UniqueConstraint("stream", "stream_seq", name="uq_audit_stream_seq"),
    )
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    stream: Mapped[str] = mapped_column(String(80))
    stream_seq: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    actor: Mapped[str] = mapped_column(String(80))
    group_name: Mapped[str | None] = mapped_column(String(40), nullable=True)
    action: Mapped[str] = mapped_column(String(40))
    instance_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    business_key: Mapped[str | None] = mapped_column(String(200), nullable=True)
    activity_id: Mapped[str | None] = mapped_column(String(100), nullable=True)
    activity_name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    decision: Mapped[str | None] = mapped_column(String(100), nullable=True)
    rationale: Mapped[str | None] = mapped_column(Text, nullable=True)
    data: Mapped[dict] = mapped_column(JSON, default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64), unique=True)
    hash: Mapped[str] = mapped_column(String(64))


class DisclosureEntry(Base):
    """Data Protection Act 2018 s.62 style log: what was released, where, when and by whom."""

    __tablename__ = "disclosure_log"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    actor: Mapped[str] = mapped_column(String(80))
    instance_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    business_key: Mapped[str | None] = mapped_column(String(200), nullable=True)
    activity_id: Mapped[str | None] = mapped_column(String(100), nullable=True)
    description: Mapped[str] = mapped_column(String(300))
    media_items: Mapped[list] = mapped_column(JSON, default=list)
    channels: Mapped[list] = mapped_column(JSON, default=list)
    destinations: Mapped[list] = mapped_column(JSON, default=list)
    details: Mapped[dict] = mapped_column(JSON, default=dict)


class MediaItem(Base):
    __tablename__ = "media_items"
    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    content_type: Mapped[str] = mapped_column(String(40))
    size: Mapped[int] = mapped_column(BigInteger)  # body-worn video runs past 2 GiB (migration 0008)
    filename: Mapped[str] = mapped_column(String(200))
    uploaded_by: Mapped[str] = mapped_column(String(80))
    uploaded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


# --- audit streams and checkpoints ---
#: Global order of audit records on PostgreSQL (SQLite's single writer takes max(seq) + 1).
AUDIT_SEQ = Sequence("audit_records_seq", metadata=Base.metadata)


class AuditStream(Base):
    """The head of one audit stream: its length and last hash. Appends lock only their own stream's
    row, so writers to different cases never wait for each other."""

    __tablename__ = "audit_streams"
    stream: Mapped[str] = mapped_column(String(80), primary_key=True)
    length: Mapped[int] = mapped_column(Integer)
    hash: Mapped[str] = mapped_column(String(64))
    last_seq: Mapped[int] = mapped_column(Integer)


class AuditCheckpoint(Base):
    """A signed anchor: the stream heads that changed since the previous checkpoint, chained to it.
    Each is also exported outside the database, where its signature and hash can be checked."""

    __tablename__ = "audit_checkpoints"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    reason: Mapped[str] = mapped_column(String(20))
    heads: Mapped[dict] = mapped_column(JSON, default=dict)
    key_id: Mapped[str] = mapped_column(String(40))
    prev_hash: Mapped[str] = mapped_column(String(64), unique=True)
    hash: Mapped[str] = mapped_column(String(64))
    signature: Mapped[str] = mapped_column(String(100))


class AuditCheckpointed(Base):
    """Bookkeeping for the checkpoint writer: each stream's head as of the last checkpoint, so the
    next one carries only what changed. Verification checks it against the signed checkpoints."""

    __tablename__ = "audit_checkpointed"
    stream: Mapped[str] = mapped_column(String(80), primary_key=True)
    length: Mapped[int] = mapped_column(Integer)
    hash: Mapped[str] = mapped_column(String(64))


# --- messages: business keys and idempotent retries ---
from sqlalchemy import func as _func  # noqa: E402

# An active case's business key is unique per pathway, whatever its letter case: eight concurrent
# starts with one reference make one case. Partial unique indexes work on SQLite and PostgreSQL.
Index("uq_instances_active_business_key", ProcessInstance.key, _func.lower(ProcessInstance.business_key),
      unique=True, sqlite_where=ProcessInstance.state == "active",
      postgresql_where=ProcessInstance.state == "active")
# Case-insensitive look-ups and prefix searches by case reference.
Index("ix_instances_business_key_lower", _func.lower(ProcessInstance.business_key), ProcessInstance.id)


class IdempotencyRecord(Base):
    """The first successful answer to a start or message sent with an `Idempotency-Key`, so a client
    retrying after a lost reply gets that answer again instead of a second case or event."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("actor", "key", name="uq_idempotency_actor_key"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    actor: Mapped[str] = mapped_column(String(80))
    key: Mapped[str] = mapped_column(String(200))
    request_hash: Mapped[str] = mapped_column(String(64))
    status: Mapped[int] = mapped_column(Integer)
    response: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


# --- incidents and attachment ownership ---
class Incident(Base):
    """A timer or step of one case that failed in the background worker: shown to managers, retried
    with back-off, retried by hand after a fix; it never holds up other cases."""

    __tablename__ = "incidents"
    __table_args__ = (Index("ix_incidents_open", "resolved_at", "next_retry_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instances.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # timer | step
    activity_id: Mapped[str | None] = mapped_column(String(100), nullable=True)
    error: Mapped[str] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_failed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    next_retry_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    resolved_by: Mapped[str | None] = mapped_column(String(80), nullable=True)


class MediaCitation(Base):
    """A case that cites an upload. An upload nobody cites is in quarantine until purged."""

    __tablename__ = "media_citations"
    digest: Mapped[str] = mapped_column(ForeignKey("media_items.digest", ondelete="CASCADE"), primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instances.id", ondelete="CASCADE"),
                                             primary_key=True, index=True)
    cited_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class MediaUploader(Base):
    """A further user who uploaded the very same bytes (stored once, by digest): it is theirs too."""

    __tablename__ = "media_uploaders"
    digest: Mapped[str] = mapped_column(ForeignKey("media_items.digest", ondelete="CASCADE"), primary_key=True)
    username: Mapped[str] = mapped_column(String(80), primary_key=True)
    uploaded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


Index("ix_media_uploader", MediaItem.uploaded_by, MediaItem.uploaded_at)


# --- officers: notifications (outbox) and saved inbox filters ---
class Notification(Base):
    """One notice to one person: shown in the app, and emailed by the worker when the person asked.

    Written in the transaction of the step that caused it (the outbox pattern), so a crash never
    loses one; `email_state` moves pending → sending → sent, and `dedupe_key` stops the worker's
    due-soon and overdue scans from writing the same notice twice."""

    __tablename__ = "notifications"
    __table_args__ = (
        Index("ix_notifications_recipient", "recipient", "read_at", "id"),
        Index("ix_notifications_email", "email_state", "next_attempt_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    recipient: Mapped[str] = mapped_column(String(80))
    kind: Mapped[str] = mapped_column(String(30))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text, default="")
    link: Mapped[str | None] = mapped_column(String(300), nullable=True)
    instance_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    task_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    dedupe_key: Mapped[str | None] = mapped_column(String(200), nullable=True, unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    read_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    email_state: Mapped[str] = mapped_column(String(10), default="none")  # none|pending|digest|sending|sent|failed
    email_to: Mapped[str | None] = mapped_column(String(200), nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    last_error: Mapped[str | None] = mapped_column(String(300), nullable=True)


class NotificationPreference(Base):
    """Where and how a person wants email: each notice as it happens, a digest, or none."""

    __tablename__ = "notification_preferences"
    username: Mapped[str] = mapped_column(String(80), primary_key=True)
    email: Mapped[str | None] = mapped_column(String(200), nullable=True)
    mode: Mapped[str] = mapped_column(String(10), default="immediate")  # immediate|digest|off


class SavedFilter(Base):
    """A named inbox view (query string) a person saved for themselves."""

    __tablename__ = "saved_filters"
    __table_args__ = (UniqueConstraint("username", "name", name="uq_saved_filter_name"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(80), index=True)
    name: Mapped[str] = mapped_column(String(80))
    query: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


# --- auth ---
class ApiToken(Base):
    """A bearer token for one integration: scoped to groups, revocable, only its SHA-256 stored.

    The token itself is 256 random bits shown once at creation; a fast hash suffices for a secret
    that cannot be guessed, and lets every API call look it up by an indexed column."""

    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    hint: Mapped[str] = mapped_column(String(12))  # the first characters, so a leaked token can be recognised
    groups: Mapped[list] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_by: Mapped[str] = mapped_column(String(80))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class WebSession(Base):
    """A signed-in browser session, held on the server so signing out (or idling) ends it for good:
    the cookie carries only a random id whose SHA-256 is the key here."""

    __tablename__ = "web_sessions"
    __table_args__ = (Index("ix_web_sessions_user", "username", "ended_at"),)
    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    username: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    address: Mapped[str | None] = mapped_column(String(64), nullable=True)
    via: Mapped[str] = mapped_column(String(20), default="password")  # password | oidc


# --- drafts and review ---
class DefinitionPublication(Base):
    """Review state of a definition version. A version without a row went live when it was deployed
    (uploads and the command line); the modeler's saves and uploads marked draft get a row with
    status "draft" and go live only when a second person publishes them. Publishing an earlier
    version again (a roll back) moves its `published_at` forward: the live version of a pathway is
    its published version with the latest `published_at` (or `deployed_at` when it has no row)."""

    __tablename__ = "definition_publications"
    definition_id: Mapped[int] = mapped_column(
        ForeignKey("process_definitions.id", ondelete="CASCADE"), primary_key=True
    )
    status: Mapped[str] = mapped_column(String(20))  # draft | published
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    published_by: Mapped[str | None] = mapped_column(String(80), nullable=True)


# --- integrations: evidence references and their citations, share links ---
class EvidenceReference(Base):
    """An item held in the force's digital evidence management system, cited by its SHA-256 in place
    of an upload. The product records and shows it; it never fetches the URL."""

    __tablename__ = "evidence_references"
    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    system: Mapped[str] = mapped_column(String(100))
    item_id: Mapped[str] = mapped_column(String(200))
    url: Mapped[str] = mapped_column(String(2000))
    recorded_by: Mapped[str] = mapped_column(String(80))
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class EvidenceCitation(Base):
    """Which cases cite which evidence reference (items in the force's evidence system, which have no
    media_items row, so media_citations cannot hold them): the download rule for references."""

    __tablename__ = "evidence_citations"
    instance_id: Mapped[int] = mapped_column(
        ForeignKey("process_instances.id", ondelete="CASCADE"), primary_key=True
    )
    digest: Mapped[str] = mapped_column(ForeignKey("evidence_references.digest", ondelete="CASCADE"),
                                        primary_key=True, index=True)
    activity_id: Mapped[str | None] = mapped_column(String(100), nullable=True)
    cited_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ShareLink(Base):
    """A per-recipient link to a released case's media. Only the SHA-256 of its random token is kept,
    so the database alone cannot be used to open a link."""

    __tablename__ = "share_links"
    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instances.id", ondelete="CASCADE"), index=True)
    business_key: Mapped[str] = mapped_column(String(200))
    recipient: Mapped[str] = mapped_column(String(200))
    recipient_kind: Mapped[str] = mapped_column(String(20))
    digests: Mapped[list] = mapped_column(JSON, default=list)
    watermark: Mapped[bool] = mapped_column(Boolean, default=False)
    conditions_of_use: Mapped[str] = mapped_column(Text)
    copyright_notice: Mapped[str] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    revoked_by: Mapped[str | None] = mapped_column(String(80), nullable=True)
