"""join the independent schema changes made side by side after 0002

Each of these revisions changes its own tables, so they apply in any order; this revision makes
them one head again.

Revision ID: 0011
Revises: 0003, 0005, 0006, 0009, 0010
"""

revision = '0011'
down_revision = ('0003', '0005', '0006', '0009', '0010')
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
