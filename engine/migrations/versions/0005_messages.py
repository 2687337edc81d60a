"""business keys unique among a pathway's active cases; idempotent starts and messages

Revision ID: 0005
Revises: 0002
"""
import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    duplicates = bind.execute(sa.text(
        "SELECT key, lower(business_key) AS bk, count(*) FROM process_instances WHERE state = 'active' "
        "GROUP BY key, lower(business_key) HAVING count(*) > 1")).fetchall()
    if duplicates:
        listed = ", ".join(f"{row[0]}:{row[1]} ({row[2]} cases)" for row in duplicates[:20])
        raise RuntimeError("Several active cases share a case reference in one pathway; cancel or rename "
                           f"all but one of each before upgrading: {listed}")
    active = sa.text("state = 'active'")
    op.create_index('uq_instances_active_business_key', 'process_instances',
                    ['key', sa.text('lower(business_key)')], unique=True,
                    sqlite_where=active, postgresql_where=active)
    op.create_index('ix_instances_business_key_lower', 'process_instances',
                    [sa.text('lower(business_key)'), 'id'], unique=False)
    op.create_table(
        'idempotency_keys',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('actor', sa.String(length=80), nullable=False),
        sa.Column('key', sa.String(length=200), nullable=False),
        sa.Column('request_hash', sa.String(length=64), nullable=False),
        sa.Column('status', sa.Integer(), nullable=False),
        sa.Column('response', sa.JSON(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('actor', 'key', name='uq_idempotency_actor_key'),
    )
    op.create_index('ix_idempotency_keys_created_at', 'idempotency_keys', ['created_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_idempotency_keys_created_at', table_name='idempotency_keys')
    op.drop_table('idempotency_keys')
    op.drop_index('ix_instances_business_key_lower', table_name='process_instances')
    op.drop_index('uq_instances_active_business_key', table_name='process_instances')
