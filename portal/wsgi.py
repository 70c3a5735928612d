"""WSGI entry point for gunicorn: ``gunicorn portal.wsgi:app``."""
import logging
import os

from portal import create_app

# Entry points configure logging; library modules only log. basicConfig does nothing if it is set up.
logging.basicConfig(level=os.environ.get("PORTAL_LOG_LEVEL", "INFO"),
                    format="%(asctime)s %(levelname)s %(name)s: %(message)s")

app = create_app()
