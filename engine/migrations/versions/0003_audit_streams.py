"""audit: per-stream hash chains, stream heads, signed checkpoints

Appends used to lock one `audit_head` row, serializing every writer. Records now chain per stream
(one per case, a few for case-less records) with a head row each, and a global sequence gives
`seq`. Records already written keep their single chain as stream `legacy` (stream_seq = seq, the
old hash), so `audit verify` still checks them the old way; its head becomes the `legacy` stream
head, which the first checkpoint then anchors like any other.

Revision ID: 0003
Revises: 0002
"""
from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    with op.batch_alter_table('audit_records', schema=None) as batch_op:
        batch_op.add_column(sa.Column('stream', sa.String(length=80), nullable=True))
        batch_op.add_column(sa.Column('stream_seq', sa.Integer(), nullable=True))
    op.execute("UPDATE audit_records SET stream = 'legacy', stream_seq = seq")
    with op.batch_alter_table('audit_records', schema=None) as batch_op:
        batch_op.alter_column('stream', existing_type=sa.String(length=80), nullable=False)
        batch_op.alter_column('stream_seq', existing_type=sa.Integer(), nullable=False)
        batch_op.create_unique_constraint('uq_audit_stream_seq', ['stream', 'stream_seq'])

    streams = op.create_table('audit_streams',
    sa.Column('stream', sa.String(length=80), nullable=False),
    sa.Column('length', sa.Integer(), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.Column('last_seq', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('stream')
    )
    op.create_table('audit_checkpoints',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('reason', sa.String(length=20), nullable=False),
    sa.Column('heads', sa.JSON(), nullable=False),
    sa.Column('key_id', sa.String(length=40), nullable=False),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.Column('signature', sa.String(length=100), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('prev_hash')
    )
    op.create_table('audit_checkpointed',
    sa.Column('stream', sa.String(length=80), nullable=False),
    sa.Column('length', sa.Integer(), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('stream')
    )

    head = bind.execute(sa.text("SELECT seq, hash FROM audit_head WHERE id = 1")).first()
    if head is not None and head.seq > 0:
        op.bulk_insert(streams, [{'stream': 'legacy', 'length': head.seq, 'hash': head.hash, 'last_seq': head.seq}])
    op.drop_table('audit_head')

    if bind.dialect.name == 'postgresql':
        op.execute("CREATE SEQUENCE audit_records_seq OWNED BY audit_records.seq")
        op.execute("SELECT setval('audit_records_seq', max(seq)) FROM audit_records HAVING max(seq) IS NOT NULL")


def downgrade() -> None:
    bind = op.get_bind()
    newer = bind.execute(sa.text("SELECT count(*) FROM audit_records WHERE stream <> 'legacy'")).scalar()
    if newer:
        raise RuntimeError("cannot downgrade: audit records written in per-stream chains have no single-chain form")
    legacy = bind.execute(sa.text("SELECT length, hash FROM audit_streams WHERE stream = 'legacy'")).first()
    if bind.dialect.name == 'postgresql':
        op.execute("DROP SEQUENCE IF EXISTS audit_records_seq")
    audit_head = op.create_table('audit_head',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.bulk_insert(audit_head, [{'id': 1, 'seq': legacy.length if legacy else 0,
                                 'hash': legacy.hash if legacy else '0' * 64}])
    op.drop_table('audit_checkpointed')
    op.drop_table('audit_checkpoints')
    op.drop_table('audit_streams')
    with op.batch_alter_table('audit_records', schema=None) as batch_op:
        batch_op.drop_constraint('uq_audit_stream_seq', type_='unique')
        batch_op.drop_column('stream_seq')
        batch_op.drop_column('stream')
