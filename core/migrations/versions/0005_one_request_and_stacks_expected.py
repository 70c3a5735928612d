"""operations: one unfinished change and one plan in preparation per setup; stacks_expected, resent_at

Revision ID: 0005
Revises: 0004
"""
from alembic import op
import sqlalchemy as sa

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

OLD_ACTIVE_CHANGE_WHERE = sa.text("kind IN ('apply', 'teardown') AND status IN ('running', 'waiting')")
ONE_CHANGE_WHERE = sa.text("kind IN ('apply', 'teardown') AND status IN ('pending', 'running', 'waiting')")
ONE_PLAN_WHERE = sa.text("kind = 'plan' AND status IN ('pending', 'running')")

# Before the new indexes, requests that slipped in beside another one (the bug they close) are
# cancelled: the one already running, or else the oldest, is kept.
CANCEL_DUPLICATES = """
UPDATE operations SET status = 'cancelled', finished_at = CURRENT_TIMESTAMP,
       error = 'Cancelled by an upgrade: another {what} of this setup was already requested.'
WHERE status = 'pending' AND kind {kinds} AND EXISTS (
    SELECT 1 FROM operations other
    WHERE other.setup_id = operations.setup_id AND other.id <> operations.id
      AND other.kind {kinds} AND other.status IN ({statuses})
      AND (other.status <> 'pending' OR other.id < operations.id)
)
"""

# Operations whose start step already ran (they have stack records, or they finished) get the count
# of what they recorded; pending ones and running ones with no record yet stay NULL until it runs.
BACKFILL_STACKS_EXPECTED = """
UPDATE operations SET stacks_expected = (SELECT COUNT(*) FROM stacks WHERE stacks.operation_id = operations.id)
WHERE status NOT IN ('pending', 'running', 'waiting')
   OR EXISTS (SELECT 1 FROM stacks WHERE stacks.operation_id = operations.id)
"""


def upgrade() -> None:
    with op.batch_alter_table("operations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("stacks_expected", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("resent_at", sa.DateTime(timezone=True), nullable=True))
    op.execute(BACKFILL_STACKS_EXPECTED)
    op.execute(CANCEL_DUPLICATES.format(what="apply or teardown", kinds="IN ('apply', 'teardown')",
                                        statuses="'pending', 'running', 'waiting'"))
    op.execute(CANCEL_DUPLICATES.format(what="plan", kinds="= 'plan'", statuses="'pending', 'running'"))
    op.drop_index("uq_operations_active_change", table_name="operations")
    op.create_index("uq_operations_one_change", "operations", ["setup_id"], unique=True,
                    sqlite_where=ONE_CHANGE_WHERE, postgresql_where=ONE_CHANGE_WHERE)
    op.create_index("uq_operations_one_plan", "operations", ["setup_id"], unique=True,
                    sqlite_where=ONE_PLAN_WHERE, postgresql_where=ONE_PLAN_WHERE)


def downgrade() -> None:
    op.drop_index("uq_operations_one_plan", table_name="operations")
    op.drop_index("uq_operations_one_change", table_name="operations")
    op.create_index("uq_operations_active_change", "operations", ["setup_id"], unique=True,
                    sqlite_where=OLD_ACTIVE_CHANGE_WHERE, postgresql_where=OLD_ACTIVE_CHANGE_WHERE)
    with op.batch_alter_table("operations", schema=None) as batch_op:
        batch_op.drop_column("resent_at")
        batch_op.drop_column("stacks_expected")
