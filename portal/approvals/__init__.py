"""The approve-to-production page: what production will change, and the approver's decision."""
from flask import Blueprint

bp = Blueprint("approvals", __name__)

from portal.approvals import routes  # noqa: E402,F401 - registers the views on bp
