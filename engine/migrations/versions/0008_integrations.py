"""evidence references and their citations, share links; media sizes past 2 GiB

Body-worn video can be larger than a 32-bit integer counts, so media_items.size becomes a big
integer. Evidence references record items held in the force's evidence system (cited by SHA-256,
never fetched); evidence citations say which cases cite them (uploads are cited in media_citations),
for download access; share links hold per-recipient links by the hash of their token.

Revision ID: 0008
Revises: 0011
"""
import sqlalchemy as sa
from alembic import op


revision = '0008'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('media_items', schema=None) as batch_op:
        batch_op.alter_column('size', existing_type=sa.Integer(), type_=sa.BigInteger(), existing_nullable=False)
    op.create_table(
        'evidence_references',
        sa.Column('digest', sa.String(length=64), nullable=False),
        sa.Column('system', sa.String(length=100), nullable=False),
        sa.Column('item_id', sa.String(length=200), nullable=False),
        sa.Column('url', sa.String(length=2000), nullable=False),
        sa.Column('recorded_by', sa.String(length=80), nullable=False),
        sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('digest'),
    )
    op.create_table(
        'evidence_citations',
        sa.Column('instance_id', sa.Integer(), nullable=False),
        sa.Column('digest', sa.String(length=64), nullable=False),
        sa.Column('activity_id', sa.String(length=100), nullable=True),
        sa.Column('cited_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['digest'], ['evidence_references.digest'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['instance_id'], ['process_instances.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('instance_id', 'digest'),
    )
    op.create_index('ix_evidence_citations_digest', 'evidence_citations', ['digest'], unique=False)
    op.create_table(
        'share_links',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('instance_id', sa.Integer(), nullable=False),
        sa.Column('business_key', sa.String(length=200), nullable=False),
        sa.Column('recipient', sa.String(length=200), nullable=False),
        sa.Column('recipient_kind', sa.String(length=20), nullable=False),
        sa.Column('digests', sa.JSON(), nullable=False),
        sa.Column('watermark', sa.Boolean(), nullable=False),
        sa.Column('conditions_of_use', sa.Text(), nullable=False),
        sa.Column('copyright_notice', sa.Text(), nullable=False),
        sa.Column('created_by', sa.String(length=80), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('revoked_by', sa.String(length=80), nullable=True),
        sa.ForeignKeyConstraint(['instance_id'], ['process_instances.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('token_hash'),
    )
    op.create_index('ix_share_links_instance_id', 'share_links', ['instance_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_share_links_instance_id', table_name='share_links')
    op.drop_table('share_links')
    op.drop_index('ix_evidence_citations_digest', table_name='evidence_citations')
    op.drop_table('evidence_citations')
    op.drop_table('evidence_references')
    with op.batch_alter_table('media_items', schema=None) as batch_op:
        batch_op.alter_column('size', existing_type=sa.BigInteger(), type_=sa.Integer(), existing_nullable=False)
