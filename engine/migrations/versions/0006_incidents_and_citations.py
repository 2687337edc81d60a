"""incidents of failing timers; which cases cite which uploads, and who uploaded them

Revision ID: 0006
Revises: 0002
"""
import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0002'
branch_labels = None
depends_on = None


#: Cite every upload whose digest is in a case's saved state (run once, by the upgrade).
CITE_EXISTING = (
    "INSERT INTO media_citations (digest, instance_id, cited_at) "
    "SELECT m.digest, p.id, m.uploaded_at FROM media_items m "
    "JOIN process_instances p ON p.workflow_json LIKE '%' || m.digest || '%'"
)


def upgrade() -> None:
    op.create_table(
        'incidents',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('instance_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('activity_id', sa.String(length=100), nullable=True),
        sa.Column('error', sa.Text(), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('last_failed_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('next_retry_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('resolved_by', sa.String(length=80), nullable=True),
        sa.ForeignKeyConstraint(['instance_id'], ['process_instances.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('incidents', schema=None) as batch_op:
        batch_op.create_index('ix_incidents_open', ['resolved_at', 'next_retry_at'], unique=False)
        batch_op.create_index('ix_incidents_instance_id', ['instance_id'], unique=False)
    op.create_table(
        'media_citations',
        sa.Column('digest', sa.String(length=64), nullable=False),
        sa.Column('instance_id', sa.Integer(), nullable=False),
        sa.Column('cited_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['digest'], ['media_items.digest'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['instance_id'], ['process_instances.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('digest', 'instance_id'),
    )
    with op.batch_alter_table('media_citations', schema=None) as batch_op:
        batch_op.create_index('ix_media_citations_instance_id', ['instance_id'], unique=False)
    op.create_table(
        'media_uploaders',
        sa.Column('digest', sa.String(length=64), nullable=False),
        sa.Column('username', sa.String(length=80), nullable=False),
        sa.Column('uploaded_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['digest'], ['media_items.digest'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('digest', 'username'),
    )
    with op.batch_alter_table('media_items', schema=None) as batch_op:
        batch_op.create_index('ix_media_uploader', ['uploaded_by', 'uploaded_at'], unique=False)
    # Uploads that cases already use (their digests are in the case's saved state) are cited now, so
    # the quarantine purge never removes them.
    op.execute(CITE_EXISTING)


def downgrade() -> None:
    with op.batch_alter_table('media_items', schema=None) as batch_op:
        batch_op.drop_index('ix_media_uploader')
    op.drop_table('media_uploaders')
    op.drop_table('media_citations')
    op.drop_table('incidents')
