"""``python -m portal create-user NAME --role admin``: the Flask CLI with the portal's commands."""
from flask.cli import FlaskGroup

from portal import create_app

cli = FlaskGroup(create_app=create_app, help="Lambda Pipeline Portal commands.")

if __name__ == "__main__":
    cli.main(prog_name="python -m portal")
