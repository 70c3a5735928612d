"""worker: stack progress (action, phase, lease, detail) and one active apply/teardown per setup

Revision ID: 0003
Revises: 0001
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = "0003"
down_revision = "0001"
branch_labels = None
depends_on = None

ACTIVE_CHANGE_WHERE = sa.text("kind IN ('apply', 'teardown') AND status IN ('running', 'waiting')")


def upgrade() -> None:
    with op.batch_alter_table("stacks", schema=None) as batch_op:
        batch_op.add_column(sa.Column("action", sa.String(length=16), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("phase", sa.String(length=16), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("template_sha256", sa.String(length=64), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("lease_token", sa.String(length=32), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column(
            "detail", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False, server_default="{}",
        ))
    op.create_index(
        "uq_operations_active_change", "operations", ["setup_id"], unique=True,
        sqlite_where=ACTIVE_CHANGE_WHERE, postgresql_where=ACTIVE_CHANGE_WHERE,
    )


def downgrade() -> None:
    op.drop_index("uq_operations_active_change", table_name="operations")
    with op.batch_alter_table("stacks", schema=None) as batch_op:
        batch_op.drop_column("detail")
        batch_op.drop_column("lease_until")
        batch_op.drop_column("lease_token")
        batch_op.drop_column("template_sha256")
        batch_op.drop_column("phase")
        batch_op.drop_column("action")
