"""Managers' and designers' pages (dashboard, cases, audit, designer). Filled in by the manager views."""
from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import login_required

from .auth import require_groups

bp = Blueprint("manage", __name__)


def _placeholder(title: str):
    return render_template("error.html", status=200, message=f"{title}: coming soon.", details={})


@bp.get("/dashboard")
@login_required
def dashboard():
    require_groups("manager")
    return _placeholder("Dashboard")


@bp.get("/instances")
@login_required
def instances():
    require_groups("manager")
    return _placeholder("Cases")


@bp.get("/audit")
@login_required
def audit():
    require_groups("manager")
    return _placeholder("Audit")


@bp.get("/designer")
@login_required
def designer():
    require_groups("designer", "manager")
    return _placeholder("Designer")
