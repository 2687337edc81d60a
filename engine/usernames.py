"""Usernames: stored normalised (NFKC, case-folded) and refused when they look like an existing one.

Two people must never be told apart only by case or by look-alike characters (`olly`, `0lly`,
`OLLY`, `оllу` with Cyrillic letters): audit records, assignees and hand-overs name people by
username, and a confusable twin could pass for someone else. `skeleton()` maps a name to a
prototype in the spirit of Unicode TR39: NFKC, accents dropped, Unicode look-alikes replaced by the
Latin letter they imitate (the Unicode confusables data shipped by `confusable_homoglyphs`), the
few ASCII look-alikes (0/o, 1/l/I, rn/m, vv/w, cl/d) folded, then case-folded."""
from __future__ import annotations

import json
import unicodedata
from functools import cache
from importlib import resources

MAX_LENGTH = 80
_ASCII_FOLDS = {"0": "o", "1": "l", "I": "l", "|": "l"}
_SEQUENCES = (("rn", "m"), ("vv", "w"), ("cl", "d"))


def normalise(username: str) -> str:
    """The stored form: NFKC, case-folded, surrounding whitespace removed."""
    return unicodedata.normalize("NFKC", username).strip().casefold()


def username_problem(username: str) -> str | None:
    """Why a (normalised) username is refused, or None."""
    if not username or len(username) > MAX_LENGTH:
        return f"Use 1 to {MAX_LENGTH} characters."
    if not all(ch.isalnum() or ch in "._-" for ch in username):
        return "Use letters, digits, dot, dash or underscore."
    scripts = {_script(ch) for ch in username if ch.isalpha()}
    if len(scripts) > 1:
        return "Use letters from one alphabet only (names mixing alphabets can imitate other names)."
    return None


@cache
def _homoglyphs() -> dict[str, str]:
    """Each non-ASCII character that imitates an ASCII letter or digit, mapped to that character
    (folded: anything that imitates 1, I or | imitates l)."""
    data = json.loads(resources.files("confusable_homoglyphs").joinpath("confusables.json").read_text("utf-8"))
    table: dict[str, str] = {}
    for char, glyphs in data.items():  # ASCII entries first: what each ASCII character is imitated by
        if len(char) == 1 and char.isascii() and char.isalnum():
            for glyph in glyphs:
                candidate = glyph["c"].strip("\u200e")
                if len(candidate) == 1 and not candidate.isascii():
                    table.setdefault(candidate, _ASCII_FOLDS.get(char, char))
    for char, glyphs in data.items():  # then what each other character imitates
        if len(char) != 1 or char.isascii() or char in table:
            continue
        for glyph in glyphs:
            candidate = glyph["c"].strip("\u200e")
            if len(candidate) == 1 and candidate.isascii() and candidate.isalnum():
                table[char] = _ASCII_FOLDS.get(candidate, candidate)
                break
    return table


def _script(ch: str) -> str:
    name = unicodedata.name(ch, "")
    return name.split(" ")[0] if name else "UNKNOWN"


def skeleton(username: str) -> str:
    text = unicodedata.normalize("NFKC", username).strip()
    text = "".join(ch for ch in unicodedata.normalize("NFD", text) if unicodedata.category(ch) != "Mn")
    glyphs = _homoglyphs()
    text = "".join(glyphs.get(ch, ch) for ch in text)
    text = "".join(_ASCII_FOLDS.get(ch, ch) for ch in text).casefold()
    text = "".join(_ASCII_FOLDS.get(ch, ch) for ch in text)
    for seq, replacement in _SEQUENCES:
        text = text.replace(seq, replacement)
    return text


def confusable_with(username: str, existing: list[str]) -> str | None:
    """The first existing username that looks like `username`, or None."""
    mine = skeleton(username)
    for other in existing:
        if skeleton(other) == mine:
            return other
    return None
