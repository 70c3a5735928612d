"""JSON API under /api/v1, authenticated by per-user bearer tokens (so it needs no CSRF token)."""
from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api/v1")

from portal.api import approvals, operations, pipelines, routes, teams  # noqa: E402,F401 - registers the views on bp
