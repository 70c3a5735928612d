"""Extension objects, created unbound here and bound to the app in create_app."""
from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect

csrf = CSRFProtect()
login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.login_message = "Please sign in to see this page."
login_manager.login_message_category = "info"
# "strong" drops the session when the client's address or agent changes: a stolen cookie is less useful.
login_manager.session_protection = "strong"
