"""draft definition versions and their publication (review before live)

Revision ID: 0007
Revises: 0002
"""
import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'definition_publications',
        sa.Column('definition_id', sa.Integer(), nullable=False),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('published_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('published_by', sa.String(length=80), nullable=True),
        sa.ForeignKeyConstraint(['definition_id'], ['process_definitions.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('definition_id'),
    )


def downgrade() -> None:
    op.drop_table('definition_publications')
