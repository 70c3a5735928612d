"""pipeline_snapshots (the dashboard's stored state) and pipeline_requests (release, retry, stop)

Revision ID: 0006
Revises: 0005
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
UNFINISHED = sa.text("status IN ('pending', 'running')")


def upgrade() -> None:
    op.create_table(
        "pipeline_snapshots",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("setup_id", sa.Integer(), nullable=False),
        sa.Column("pipeline_name", sa.String(length=100), nullable=False),
        sa.Column("account_id", sa.String(length=12), nullable=False),
        sa.Column("region", sa.String(length=32), nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("stages", JSON, nullable=False),
        sa.Column("executions", JSON, nullable=False),
        sa.Column("approval", JSON, nullable=False),
        sa.Column("approval_token", sa.String(length=256), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("read_error", sa.Text(), nullable=False),
        sa.Column("read_error_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("watched_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("next_read_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["setup_id"], ["setups.id"], name="fk_pipeline_snapshots_setup_id_setups",
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_pipeline_snapshots"),
        sa.UniqueConstraint("setup_id", name="uq_pipeline_snapshots_setup_id"),
    )
    op.create_index("ix_pipeline_snapshots_next_read_at", "pipeline_snapshots", ["next_read_at"])
    op.create_table(
        "pipeline_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("setup_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("requested_by", sa.String(length=64), nullable=False),
        sa.Column("stage", sa.String(length=100), nullable=False),
        sa.Column("execution_id", sa.String(length=100), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["setup_id"], ["setups.id"], name="fk_pipeline_requests_setup_id_setups",
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_pipeline_requests"),
    )
    op.create_index("ix_pipeline_requests_setup_id", "pipeline_requests", ["setup_id"])
    op.create_index("uq_pipeline_requests_one_unfinished", "pipeline_requests", ["setup_id", "kind"], unique=True,
                    sqlite_where=UNFINISHED, postgresql_where=UNFINISHED)


def downgrade() -> None:
    op.drop_index("uq_pipeline_requests_one_unfinished", table_name="pipeline_requests")
    op.drop_index("ix_pipeline_requests_setup_id", table_name="pipeline_requests")
    op.drop_table("pipeline_requests")
    op.drop_index("ix_pipeline_snapshots_next_read_at", table_name="pipeline_snapshots")
    op.drop_table("pipeline_snapshots")
