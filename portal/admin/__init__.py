"""Administration: users and their roles, and the audit log."""
from flask import Blueprint

bp = Blueprint("admin", __name__, url_prefix="/admin")

from portal.admin import routes, teams  # noqa: E402,F401 - registers the views on bp
