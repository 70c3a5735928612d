"""Extension objects, created unbound here and bound to the app in create_app."""
from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect

csrf = CSRFProtect()
login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.login_message = "Please sign in to see this page."
login_manager.login_message_category = "info"
# Off: for permanent sessions, which the portal's are, Flask-Login's "strong" mode only marks the session
# not fresh when the client's address or agent changes, and no view asks for a fresh sign-in. What limits
# a stolen cookie is portal/sessions.py: each session is a row that sign-out, a new password, deactivation
# or an admin ends, with an idle timeout and an absolute lifetime.
login_manager.session_protection = None
