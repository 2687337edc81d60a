"""Managers' and designers' pages: dashboard, cases, pathway diagrams, designer, audit.

The routes live in the manage_*.py modules, one per page family, all on the blueprint `bp` from
manage_common; importing them here registers them."""
from __future__ import annotations

from . import (  # noqa: F401  (imported for their routes)
    manage_audit,
    manage_dashboard,
    manage_designer,
    manage_incidents,
    manage_instances,
    manage_vendor,
)
from .manage_common import bp

__all__ = ["bp"]
