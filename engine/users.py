"""Users and groups live in the database; passwords are argon2id hashes.

Verifying a password costs tens of milliseconds of CPU on purpose, so it never runs inside a
writing transaction (that would hold SQLite's write lock for every guess): callers read the stored
credential in a read-only transaction (`load_credential`), verify it outside any transaction
(`verify_password`), and write a re-hash separately when the hashing parameters changed."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from . import audit
from .errors import Conflict, InvalidForm, NotFound
from .models import User, UserGroup
from .passwords import password_problem
from .usernames import confusable_with, normalise, username_problem

GROUPS = (
    "requester", "sio", "oic", "ccd", "flo", "senior_ops", "head_of_comms", "designer", "manager", "admin",
)
#: Stored for accounts that sign in elsewhere (OpenID Connect): no password can ever match it.
NO_PASSWORD = "!external"
_hasher = PasswordHasher()
# Spent on unknown usernames so a login's timing does not reveal which usernames exist.
_DUMMY_HASH = _hasher.hash("not-a-real-password")


@dataclass(frozen=True)
class Actor:
    """Who is acting, as the engine sees it. `system` acts for timers and integrations."""

    username: str
    groups: frozenset[str] = field(default_factory=frozenset)

    def in_any(self, groups) -> bool:
        return bool(self.groups & set(groups))

    def first_group_of(self, groups) -> str | None:
        for g in groups:
            if g in self.groups:
                return g
        return None


SYSTEM = Actor("system", frozenset({"system"}))


@dataclass(frozen=True)
class StoredCredential:
    """What a sign-in needs from the database, read without taking the write lock."""

    username: str
    display_name: str
    password_hash: str
    active: bool
    groups: frozenset[str]

    @property
    def actor(self) -> Actor:
        return Actor(self.username, self.groups)


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def find_user(session: Session, username: str) -> User | None:
    """The user signing in as `username`: its normalised form, or (for accounts created before
    names were normalised) exactly as typed."""
    wanted = normalise(username)
    rows = session.scalars(select(User).where(User.username.in_({wanted, username.strip()}))).all()
    return next((u for u in rows if u.username == wanted), rows[0] if rows else None)


def load_credential(session: Session, username: str) -> StoredCredential | None:
    user = find_user(session, username)
    if user is None:
        return None
    return StoredCredential(user.username, user.display_name, user.password_hash, user.active,
                            frozenset(user.group_names))


def verify_password(credential: StoredCredential | None, password: str) -> bool:
    """True when `password` matches. Costs the same for unknown or inactive users. Call it outside
    any database transaction."""
    if credential is None or not credential.active or credential.password_hash == NO_PASSWORD:
        try:
            _hasher.verify(_DUMMY_HASH, password)
        except VerificationError:
            pass
        return False
    try:
        return _hasher.verify(credential.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(credential: StoredCredential) -> bool:
    try:
        return _hasher.check_needs_rehash(credential.password_hash)
    except InvalidHashError:
        return False


def store_rehash(session: Session, username: str, password: str) -> None:
    """Upgrade a stored hash to the current parameters (after a successful verification)."""
    user = session.scalar(select(User).where(User.username == username))
    if user is not None:
        user.password_hash = hash_password(password)


def _record(session: Session, action: str, by: str, data: dict, address: str | None) -> None:
    if address:
        data = {**data, "address": address}
    audit.append(session, at=datetime.now(timezone.utc), actor=by, action=action, data=data)


def _check_groups(groups: list[str], errors: dict) -> None:
    unknown = [g for g in groups if g not in GROUPS]
    if unknown or not groups:
        errors["group"] = "Known groups: " + ", ".join(GROUPS)


def create_user(session: Session, username: str, password: str | None, groups: list[str],
                display_name: str = "", *, audit_by: str | None = None, address: str | None = None) -> User:
    """Create a user after the password policy and the username rules; `password=None` makes an
    account that can only sign in through the identity provider. With `audit_by`, the change is
    recorded in the audit trail (who, from where, what)."""
    name = normalise(username)
    errors = {}
    if password is not None:
        problem = password_problem(password, name)
        if problem:
            errors["password"] = problem
    _check_groups(groups, errors)
    if errors:
        raise InvalidForm("Invalid user.", errors)
    # Hash before the first statement: the transaction takes no lock until then (SQLite: none at all).
    password_hash = hash_password(password) if password is not None else NO_PASSWORD
    existing = list(session.scalars(select(User.username)))
    if name in existing:
        raise Conflict(f"user {name!r} already exists", {"username": "Already exists."})
    twin = confusable_with(username, existing) or confusable_with(name, existing)  # as typed: "oIIy" ~ "olly"
    if twin is not None:
        raise Conflict(f"user {name!r} looks like the existing user {twin!r}; choose a clearly different name",
                       {"username": f"Looks like the existing user {twin!r}."})
    problem = username_problem(name)
    if problem:
        raise InvalidForm("Invalid user.", {"username": problem})
    user = User(username=name, display_name=display_name or name, password_hash=password_hash,
                created_at=datetime.now(timezone.utc))
    user.groups = [UserGroup(group_name=g) for g in sorted(set(groups))]
    session.add(user)
    session.flush()
    if audit_by:
        _record(session, "user_add", audit_by, {"username": name, "groups": sorted(set(groups)),
                                                "password": password is not None}, address)
    return user


def _existing(session: Session, username: str) -> User:
    user = find_user(session, username)
    if user is None:
        raise NotFound(f"no user {username!r}")
    return user


def set_groups(session: Session, username: str, groups: list[str], *, audit_by: str,
               address: str | None = None) -> User:
    """Replace a user's groups (recorded with before and after)."""
    errors: dict = {}
    _check_groups(groups, errors)
    if errors:
        raise InvalidForm("Invalid groups.", errors)
    user = _existing(session, username)
    before = user.group_names
    wanted = sorted(set(groups))
    if before != wanted:
        user.groups = [g for g in user.groups if g.group_name in wanted] + [
            UserGroup(group_name=g) for g in wanted if g not in before]
        session.flush()
        _record(session, "user_groups", audit_by, {"username": user.username, "before": before,
                                                   "after": wanted}, address)
    return user


def set_password(session: Session, username: str, password: str, *, audit_by: str,
                 address: str | None = None) -> User:
    problem = password_problem(password, normalise(username))
    if problem:
        raise InvalidForm("Invalid password.", {"password": problem})
    password_hash = hash_password(password)  # before the first statement, so no lock is held meanwhile
    user = _existing(session, username)
    user.password_hash = password_hash
    _record(session, "user_password", audit_by, {"username": user.username}, address)
    return user


def set_active(session: Session, username: str, active: bool, *, audit_by: str,
               address: str | None = None) -> User:
    user = _existing(session, username)
    if user.active != active:
        user.active = active
        _record(session, "user_enable" if active else "user_disable", audit_by, {"username": user.username},
                address)
    return user


def authenticate(session: Session, username: str, password: str) -> Actor | None:
    """Check a password within the caller's session (CLI and tests). The web app does not use it:
    it verifies outside any transaction (see the module docstring)."""
    credential = load_credential(session, username)
    if not verify_password(credential, password):
        return None
    if needs_rehash(credential):
        store_rehash(session, credential.username, password)
    return credential.actor


def actor_for(user: User) -> Actor:
    return Actor(user.username, frozenset(user.group_names))


def get_actor(session: Session, username: str) -> Actor:
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFound(f"no user {username!r}")
    return actor_for(user)
