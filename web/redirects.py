"""Where a page may send the browser next: only a path on this site.

`next=/%09/evil.example/` arrives as "/\\t/evil.example/", passes a naive "starts with one slash"
test, and browsers drop the tab and follow `//evil.example/` off-site. So the target must be a
plain relative path: no scheme or host, no backslash, no control or space characters, and it must
not start with two slashes (or a slash and a backslash)."""
from __future__ import annotations

from urllib.parse import urlsplit


def safe_next(target: str | None, fallback: str) -> str:
    """`target` when it is a same-site path, otherwise `fallback`."""
    if not target or not target.startswith("/") or len(target) > 2000:
        return fallback
    if any(ch <= " " or ch == "\x7f" or ch == "\\" for ch in target):
        return fallback
    if target.startswith("//"):
        return fallback
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return fallback
    return target
