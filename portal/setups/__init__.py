"""The setup wizard: accounts, application, access, review, and asking for a plan."""
from flask import Blueprint

bp = Blueprint("setups", __name__)

from portal.setups import pages, routes  # noqa: E402,F401 - registers the views on bp
