"""Plans reviewed and applied, live stack events, results, failures and teardown of a setup's stacks."""
from flask import Blueprint

bp = Blueprint("deployments", __name__)

from portal.deployments import routes  # noqa: E402,F401 - registers the views on bp
