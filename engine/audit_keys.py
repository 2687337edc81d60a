"""The Ed25519 key that signs audit checkpoints, and the public keys that verify them.

The private key never touches the database: it comes from `audit_signing_key` (environment
RELEASEDESK_AUDIT_SIGNING_KEY: a PEM block or the base64 of the raw 32-byte key) or from the file
named by `audit_signing_key_file`, or else `audit-signing.key` in the instance folder (beside media_dir) when
that file exists. Demonstrations and test runs get one generated there; production gets none, so no
checkpoint is signed by a key nobody chose to create. Verification trusts the signing key's public
half plus every key listed in `audit_trusted_keys_file` (older keys after a rotation), never a key
found in the database."""
from __future__ import annotations

import base64
import hashlib
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from .config import Settings


class AuditKeyMissing(RuntimeError):
    """No signing key is configured (production) or the configured one cannot be read."""


def key_id(public: Ed25519PublicKey) -> str:
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return "ed25519:" + hashlib.sha256(raw).hexdigest()[:16]


def public_b64(public: Ed25519PublicKey) -> str:
    return base64.b64encode(public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)).decode()


@dataclass(frozen=True)
class SigningKey:
    private: Ed25519PrivateKey

    @property
    def public(self) -> Ed25519PublicKey:
        return self.private.public_key()

    @property
    def key_id(self) -> str:
        return key_id(self.public)

    def sign(self, message: bytes) -> str:
        return base64.b64encode(self.private.sign(message)).decode()

    def public_line(self) -> str:
        """`<key id> <base64 public key>`: the line to publish and to add to a trusted-keys file."""
        return f"{self.key_id} {public_b64(self.public)}"


def verify_signature(public: Ed25519PublicKey, signature: str, message: bytes) -> bool:
    try:
        public.verify(base64.b64decode(signature, validate=True), message)
        return True
    except (InvalidSignature, ValueError):
        return False


def parse_private(text: str) -> Ed25519PrivateKey:
    text = text.strip()
    if text.startswith("-----BEGIN"):
        key = serialization.load_pem_private_key(text.encode(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise AuditKeyMissing("the audit signing key is not an Ed25519 key")
        return key
    try:
        raw = base64.b64decode(text, validate=True)
    except ValueError as exc:
        raise AuditKeyMissing("the audit signing key is neither PEM nor base64") from exc
    if len(raw) != 32:
        raise AuditKeyMissing("the audit signing key must be 32 bytes (base64) or a PEM block")
    return Ed25519PrivateKey.from_private_bytes(raw)


def parse_public(text: str) -> Ed25519PublicKey:
    raw = base64.b64decode(text.strip(), validate=True)
    return Ed25519PublicKey.from_public_bytes(raw)


def generate_key_file(path: Path) -> SigningKey:
    """Write a new PEM private key readable by its owner only; refuse to overwrite one. The file
    appears whole or not at all (written aside, then hard-linked), so a process starting at the
    same moment never reads half a key."""
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    path.parent.mkdir(parents=True, exist_ok=True)
    aside = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(aside, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(pem)
            fh.flush()
            os.fsync(fh.fileno())
        os.link(aside, path)  # FileExistsError when a key is already there
    finally:
        aside.unlink(missing_ok=True)
    return SigningKey(key)


def demo_key_path(settings: Settings) -> Path:
    """The default key file: in the instance folder, beside the media folder."""
    return Path(settings.media_dir).parent / "audit-signing.key"


def load_signing_key(settings: Settings) -> SigningKey | None:
    """The configured key; in demo and test runs a generated one; otherwise None."""
    if settings.audit_signing_key:
        return SigningKey(parse_private(settings.audit_signing_key))
    if settings.audit_signing_key_file:
        path = Path(settings.audit_signing_key_file)
        try:
            return SigningKey(parse_private(path.read_text()))
        except OSError as exc:
            raise AuditKeyMissing(f"cannot read the audit signing key file {path}: {exc.strerror}") from exc
    path = demo_key_path(settings)
    if path.exists():  # `releasedesk audit keygen` writes here by default; demo runs generate it here
        return SigningKey(parse_private(path.read_text()))
    if settings.demo or settings.testing:
        try:
            return generate_key_file(path)
        except FileExistsError:  # another process made it first
            return SigningKey(parse_private(path.read_text()))
    return None


MISSING_KEY_HELP = ("no audit signing key configured: create one with `releasedesk audit keygen --out PATH` "
                    "and set RELEASEDESK_AUDIT_SIGNING_KEY_FILE=PATH (or RELEASEDESK_AUDIT_SIGNING_KEY, or run "
                    "`releasedesk audit keygen` to write the instance folder's audit-signing.key)")


def require_signing_key(settings: Settings) -> SigningKey:
    key = load_signing_key(settings)
    if key is None:
        raise AuditKeyMissing(MISSING_KEY_HELP)
    return key


def trusted_keys(settings: Settings) -> dict[str, Ed25519PublicKey]:
    """Key id -> public key: the signing key's own plus each line of the trusted-keys file
    (`<key id> <base64>` or just `<base64>`; `#` starts a comment)."""
    keys: dict[str, Ed25519PublicKey] = {}
    signing = load_signing_key(settings)
    if signing is not None:
        keys[signing.key_id] = signing.public
    if settings.audit_trusted_keys_file:
        path = Path(settings.audit_trusted_keys_file)
        try:
            lines = path.read_text().splitlines()
        except OSError as exc:
            raise AuditKeyMissing(f"cannot read the trusted audit keys file {path}: {exc.strerror}") from exc
        for number, line in enumerate(lines, 1):
            parts = line.split("#", 1)[0].split()
            if not parts:
                continue
            try:
                public = parse_public(parts[-1])
            except ValueError as exc:
                raise AuditKeyMissing(f"{path}:{number}: not a base64 Ed25519 public key") from exc
            if len(parts) > 1 and parts[0] != key_id(public):
                raise AuditKeyMissing(f"{path}:{number}: key id {parts[0]} does not match the key")
            keys[key_id(public)] = public
    return keys
