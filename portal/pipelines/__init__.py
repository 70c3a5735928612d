"""The pipeline dashboard: every applied setup's pipeline, one pipeline's stages, release/retry/stop."""
from flask import Blueprint

bp = Blueprint("pipelines", __name__)

from portal.pipelines import routes  # noqa: E402,F401 - registers the views on bp
