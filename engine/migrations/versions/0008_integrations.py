"""evidence references, media citations, share links; media sizes past 2 GiB

Body-worn video can be larger than a 32-bit integer counts, so media_items.size becomes a big
integer. Evidence references record items held in the force's evidence system (cited by SHA-256,
never fetched); media citations say which cases cite which media, for download access; share links
hold per-recipient links by the hash of their token.

Revision ID: 0008
Revises: 0002
"""
import json
import re

import sqlalchemy as sa
from alembic import op


revision = '0008'
down_revision = '0002'
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
        'media_citations',
        sa.Column('instance_id', sa.Integer(), nullable=False),
        sa.Column('digest', sa.String(length=64), nullable=False),
        sa.Column('activity_id', sa.String(length=100), nullable=True),
        sa.Column('cited_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['instance_id'], ['process_instances.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('instance_id', 'digest'),
    )
    op.create_index('ix_media_citations_digest', 'media_citations', ['digest'], unique=False)
    _cite_existing_media()
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


def _cite_existing_media() -> None:
    """Cases started before this revision cite media too: read the digests each start or task
    completion submitted from the audit trail (lists of SHA-256 digests), so downloads over the API
    work for existing cases."""
    digest = re.compile(r"^[0-9a-f]{64}$")
    audit = sa.table('audit_records', sa.column('seq', sa.Integer()), sa.column('instance_id', sa.Integer()),
                     sa.column('action', sa.String()), sa.column('activity_id', sa.String()),
                     sa.column('at', sa.DateTime(timezone=True)), sa.column('data', sa.JSON()))
    instances = sa.table('process_instances', sa.column('id', sa.Integer()))
    citations = sa.table('media_citations', sa.column('instance_id', sa.Integer()), sa.column('digest', sa.String()),
                         sa.column('activity_id', sa.String()), sa.column('cited_at', sa.DateTime(timezone=True)))
    conn = op.get_bind()
    query = (sa.select(audit.c.instance_id, audit.c.activity_id, audit.c.at, audit.c.data)
             .join(instances, instances.c.id == audit.c.instance_id)
             .where(audit.c.action.in_(['start', 'complete'])).order_by(audit.c.seq))
    seen, batch = set(), []
    for instance_id, activity_id, at, data in conn.execute(query):
        if isinstance(data, str):
            data = json.loads(data or '{}')
        for value in (data or {}).values():
            for item in value if isinstance(value, list) else []:
                if isinstance(item, str) and digest.match(item) and (instance_id, item) not in seen:
                    seen.add((instance_id, item))
                    batch.append({'instance_id': instance_id, 'digest': item, 'activity_id': activity_id,
                                  'cited_at': at})
        if len(batch) >= 1000:
            conn.execute(citations.insert(), batch)
            batch = []
    if batch:
        conn.execute(citations.insert(), batch)


def downgrade() -> None:
    op.drop_index('ix_share_links_instance_id', table_name='share_links')
    op.drop_table('share_links')
    op.drop_index('ix_media_citations_digest', table_name='media_citations')
    op.drop_table('media_citations')
    op.drop_table('evidence_references')
    with op.batch_alter_table('media_items', schema=None) as batch_op:
        batch_op.alter_column('size', existing_type=sa.BigInteger(), type_=sa.Integer(), existing_nullable=False)
