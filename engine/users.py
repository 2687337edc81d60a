"""Users and groups live in the database; passwords are argon2id hashes."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from .errors import Conflict, InvalidForm, NotFound
from .models import User, UserGroup

GROUPS = (
    "requester", "sio", "oic", "ccd", "flo", "senior_ops", "head_of_comms", "designer", "manager", "admin",
)
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


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def create_user(session: Session, username: str, password: str, groups: list[str],
                display_name: str = "") -> User:
    errors = {}
    if not username or len(username) > 80 or not username.replace("_", "").replace(".", "").replace("-", "").isalnum():
        errors["username"] = "Use letters, digits, dot, dash or underscore (up to 80)."
    if len(password) < 8:
        errors["password"] = "At least 8 characters."
    unknown = [g for g in groups if g not in GROUPS]
    if unknown or not groups:
        errors["group"] = "Known groups: " + ", ".join(GROUPS)
    if errors:
        raise InvalidForm("Invalid user.", errors)
    if session.scalar(select(User).where(User.username == username)):
        raise Conflict(f"user {username!r} already exists")
    user = User(username=username, display_name=display_name or username,
                password_hash=hash_password(password), created_at=datetime.now(timezone.utc))
    user.groups = [UserGroup(group_name=g) for g in sorted(set(groups))]
    session.add(user)
    session.flush()
    return user


def authenticate(session: Session, username: str, password: str) -> Actor | None:
    user = session.scalar(select(User).where(User.username == username))
    if user is None or not user.active:
        try:
            _hasher.verify(_DUMMY_HASH, password)
        except VerificationError:
            pass
        return None
    try:
        _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return actor_for(user)


def actor_for(user: User) -> Actor:
    return Actor(user.username, frozenset(user.group_names))


def get_actor(session: Session, username: str) -> Actor:
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFound(f"no user {username!r}")
    return actor_for(user)
