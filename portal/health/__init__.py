"""Liveness and readiness for load balancers and `make run`: no sign-in needed."""
from flask import Blueprint

bp = Blueprint("health", __name__)

from portal.health import routes  # noqa: E402,F401 - registers the views on bp
