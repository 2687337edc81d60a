"""timer claims: a lease on due timer subscriptions

Timer workers claim due timers in small batches (PostgreSQL: FOR UPDATE SKIP LOCKED) and mark them
claimed until a lease runs out, so several workers share the due work instead of queueing on the
same rows; a crashed worker's claims lapse and another worker takes them.

Revision ID: 0009
Revises: 0002
"""
from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('subscriptions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('claimed_until', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('subscriptions', schema=None) as batch_op:
        batch_op.drop_column('claimed_until')
