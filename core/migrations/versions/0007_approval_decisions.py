"""approval_reviews (what an approver reviews), approval_decisions and approval_votes; setups.two_person_approval

Revision ID: 0007
Revises: 0006
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
TIME = sa.DateTime(timezone=True)


def _setup_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(["setup_id"], ["setups.id"], name=f"fk_{table}_setup_id_setups", ondelete="CASCADE")


def upgrade() -> None:
    with op.batch_alter_table("setups") as batch:
        batch.add_column(sa.Column("two_person_approval", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.create_table(
        "approval_reviews",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("setup_id", sa.Integer(), nullable=False),
        sa.Column("execution_id", sa.String(length=100), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("change_set_name", sa.String(length=200), nullable=False),
        sa.Column("change_set", JSON, nullable=False),
        sa.Column("change_set_problem", sa.Text(), nullable=False),
        sa.Column("staging", JSON, nullable=False),
        sa.Column("staging_problem", sa.Text(), nullable=False),
        sa.Column("custom_data", sa.Text(), nullable=False),
        sa.Column("timeout_minutes", sa.Integer(), nullable=True),
        sa.Column("complete", sa.Boolean(), nullable=False),
        sa.Column("requested_at", TIME, nullable=False),
        sa.Column("read_at", TIME, nullable=True),
        _setup_fk("approval_reviews"),
        sa.PrimaryKeyConstraint("id", name="pk_approval_reviews"),
        sa.UniqueConstraint("setup_id", "execution_id", name="uq_approval_reviews_setup_id"),
    )
    op.create_index("ix_approval_reviews_setup_id", "approval_reviews", ["setup_id"])
    op.create_table(
        "approval_decisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("setup_id", sa.Integer(), nullable=False),
        sa.Column("execution_id", sa.String(length=100), nullable=False),
        sa.Column("approval_run_id", sa.String(length=100), nullable=False),
        sa.Column("stage", sa.String(length=100), nullable=False),
        sa.Column("action", sa.String(length=100), nullable=False),
        sa.Column("decision", sa.String(length=16), nullable=False),
        sa.Column("decided_by", sa.String(length=64), nullable=False),
        sa.Column("first_approver", sa.String(length=64), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("commit_id", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("started_at", TIME, nullable=True),
        sa.Column("finished_at", TIME, nullable=True),
        _setup_fk("approval_decisions"),
        sa.PrimaryKeyConstraint("id", name="pk_approval_decisions"),
        sa.UniqueConstraint("setup_id", "execution_id", "approval_run_id", name="uq_approval_decisions_one_per_approval"),
    )
    op.create_index("ix_approval_decisions_setup_id", "approval_decisions", ["setup_id"])
    op.create_table(
        "approval_votes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("setup_id", sa.Integer(), nullable=False),
        sa.Column("execution_id", sa.String(length=100), nullable=False),
        sa.Column("approval_run_id", sa.String(length=100), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        _setup_fk("approval_votes"),
        sa.PrimaryKeyConstraint("id", name="pk_approval_votes"),
        sa.UniqueConstraint("setup_id", "execution_id", "approval_run_id", "username",
                            name="uq_approval_votes_one_per_person"),
    )
    op.create_index("ix_approval_votes_setup_id", "approval_votes", ["setup_id"])


def downgrade() -> None:
    for table in ("approval_votes", "approval_decisions", "approval_reviews"):
        op.drop_index(f"ix_{table}_setup_id", table_name=table)
        op.drop_table(table)
    with op.batch_alter_table("setups") as batch:
        batch.drop_column("two_person_approval")
