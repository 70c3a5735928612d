"""teams and memberships; setups.team_id (existing setups and users move to the default team); audit_entries.team_id

Revision ID: 0008
Revises: 0007

Before teams, every non-admin's role applied to every setup. So that nobody loses or gains access by
migrating, the default team holds every setup, and every active or inactive non-admin user becomes
its member with the role they had; admins stay global. The first admin owns the default team. Audit
entries about a setup ("setup N" / "setup:N") get that setup's team.

Revision 0008 is the last one that may create the default team: the portal relies on it existing.
"""
from datetime import datetime, timezone

from alembic import op
import sqlalchemy as sa

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

TIME = sa.DateTime(timezone=True)
DEFAULT_TEAM = "default"
TEAM_ROLES = ("operator", "approver", "viewer")


def upgrade() -> None:
    op.create_table(
        "teams",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["created_by_id"], ["users.id"], name="fk_teams_created_by_id_users",
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name="pk_teams"),
        sa.UniqueConstraint("name", name="uq_teams_name"),
    )
    op.create_table(
        "memberships",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.ForeignKeyConstraint(["team_id"], ["teams.id"], name="fk_memberships_team_id_teams", ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_memberships_user_id_users", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_memberships"),
        sa.UniqueConstraint("team_id", "user_id", name="uq_memberships_one_per_user"),
    )
    op.create_index("ix_memberships_team_id", "memberships", ["team_id"])
    op.create_index("ix_memberships_user_id", "memberships", ["user_id"])

    conn = op.get_bind()
    now = datetime.now(timezone.utc)
    first_admin = conn.scalar(sa.text("SELECT id FROM users WHERE role = 'admin' ORDER BY id LIMIT 1"))
    conn.execute(sa.text("INSERT INTO teams (name, created_at, created_by_id) VALUES (:name, :now, :admin)"),
                 {"name": DEFAULT_TEAM, "now": now, "admin": first_admin})
    team_id = conn.scalar(sa.text("SELECT id FROM teams WHERE name = :name"), {"name": DEFAULT_TEAM})
    conn.execute(sa.text("INSERT INTO memberships (team_id, user_id, role, created_at) "
                         "SELECT :team, id, role, :now FROM users WHERE role IN :roles")
                 .bindparams(sa.bindparam("roles", expanding=True)),
                 {"team": team_id, "now": now, "roles": list(TEAM_ROLES)})

    with op.batch_alter_table("setups") as batch:
        batch.add_column(sa.Column("team_id", sa.Integer(), nullable=True))
    conn.execute(sa.text("UPDATE setups SET team_id = :team"), {"team": team_id})
    with op.batch_alter_table("setups") as batch:
        batch.alter_column("team_id", existing_type=sa.Integer(), nullable=False)
        batch.create_foreign_key("fk_setups_team_id_teams", "teams", ["team_id"], ["id"])
        batch.create_index("ix_setups_team_id", ["team_id"])

    with op.batch_alter_table("audit_entries") as batch:
        batch.add_column(sa.Column("team_id", sa.Integer(), nullable=True))
        batch.create_index("ix_audit_entries_team_id", ["team_id"])
    # The log is append-only for the application; giving old entries their team is the migration's one
    # exception, and it only adds what the target already said. Every setup is in the default team now.
    conn.execute(sa.text("UPDATE audit_entries SET team_id = :team WHERE target LIKE 'setup %' "
                         "OR target LIKE 'setup:%'"), {"team": team_id})


def downgrade() -> None:
    with op.batch_alter_table("audit_entries") as batch:
        batch.drop_index("ix_audit_entries_team_id")
        batch.drop_column("team_id")
    with op.batch_alter_table("setups") as batch:
        batch.drop_index("ix_setups_team_id")
        batch.drop_constraint("fk_setups_team_id_teams", type_="foreignkey")
        batch.drop_column("team_id")
    op.drop_index("ix_memberships_user_id", table_name="memberships")
    op.drop_index("ix_memberships_team_id", table_name="memberships")
    op.drop_table("memberships")
    op.drop_table("teams")
