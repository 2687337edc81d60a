"""Password policy after NCSC guidance: length over complexity rules, and a deny list of the
passwords attackers try first. No composition rules, no expiry: those push people to weaker habits.

A password must be at least 12 characters (a passphrase of three random words easily is), not all
whitespace, and not a common password from the bundled list (also once lower-cased and once its
trailing digits and punctuation are trimmed, so `Password2024!` is refused like `password`)."""
from __future__ import annotations

import gzip
import string
from functools import cache
from importlib import resources

MIN_LENGTH = 12
MAX_LENGTH = 1024  # argon2 takes any length; a cap stops megabyte "passwords" costing CPU


@cache
def common_passwords() -> frozenset[str]:
    data = resources.files("engine").joinpath("data/common-passwords.txt.gz").read_bytes()
    return frozenset(gzip.decompress(data).decode().split())


def _variants(password: str) -> set[str]:
    lowered = password.lower()
    squeezed = "".join(lowered.split())
    trimmed = squeezed.rstrip(string.digits + string.punctuation)
    leading = squeezed.lstrip(string.digits + string.punctuation)
    return {lowered, squeezed, trimmed, leading} - {""}


def password_problem(password: str, username: str = "") -> str | None:
    """Why `password` is refused, in words for the person choosing it, or None when acceptable."""
    if not password or not password.strip():
        return "Choose a password that is not blank or only spaces."
    if len(password) < MIN_LENGTH:
        return f"Use at least {MIN_LENGTH} characters; three random words make a strong, memorable password."
    if len(password) > MAX_LENGTH:
        return f"Use at most {MAX_LENGTH} characters."
    if len(set(password.lower())) <= 2:
        return "Choose a password that is not one or two characters repeated."
    if _variants(password) & common_passwords():
        return "That password is one of the most common ones attackers try first; choose another."
    if username and username.casefold() in password.casefold():
        return "Choose a password that does not contain your username."
    return None
