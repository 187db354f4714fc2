"""Bulletins: authoring, targets, history, the delivery outbox, reach, channel tokens and state.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 18:58:23.223967
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('channel_state',
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('value', sa.Text(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_channel_state'))
    )
    op.create_table('channel_token',
    sa.Column('ref', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.Column('sealed', sa.LargeBinary(), nullable=False),
    sa.Column('key_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('ref', name=op.f('pk_channel_token'))
    )
    op.create_table('bulletin',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('ward_id', sa.Uuid(), nullable=False),
    sa.Column('author_id', sa.Uuid(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('title', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('search_folded', sa.Text(), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('scheduled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('approved_by', sa.Uuid(), nullable=True),
    sa.Column('approved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['approved_by'], ['member.id'], name=op.f('fk_bulletin_approved_by_member')),
    sa.ForeignKeyConstraint(['author_id'], ['member.id'], name=op.f('fk_bulletin_author_id_member')),
    sa.ForeignKeyConstraint(['ward_id'], ['ward.id'], name=op.f('fk_bulletin_ward_id_ward')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bulletin'))
    )
    with op.batch_alter_table('bulletin', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_bulletin_approved_by'), ['approved_by'], unique=False)
        batch_op.create_index(batch_op.f('ix_bulletin_author_id'), ['author_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_bulletin_kind'), ['kind'], unique=False)
        batch_op.create_index('ix_bulletin_search_folded_trgm', ['search_folded'], unique=False, postgresql_using='gin', postgresql_ops={'search_folded': 'gin_trgm_ops'})
        batch_op.create_index(batch_op.f('ix_bulletin_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_bulletin_ward_id'), ['ward_id'], unique=False)
        batch_op.create_index('ix_bulletin_ward_id_published_at', ['ward_id', 'published_at'], unique=False)
        batch_op.create_index('ix_bulletin_ward_id_status', ['ward_id', 'status'], unique=False)

    op.create_table('bulletin_attachment',
    sa.Column('bulletin_id', sa.Uuid(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('blob_key', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.Column('media_type', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('filename', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('size_bytes', sa.BigInteger(), nullable=False),
    sa.Column('content_type', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.ForeignKeyConstraint(['bulletin_id'], ['bulletin.id'], name=op.f('fk_bulletin_attachment_bulletin_id_bulletin')),
    sa.PrimaryKeyConstraint('bulletin_id', 'position', name=op.f('pk_bulletin_attachment'))
    )
    op.create_table('bulletin_target_group',
    sa.Column('bulletin_id', sa.Uuid(), nullable=False),
    sa.Column('group_id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['bulletin_id'], ['bulletin.id'], name=op.f('fk_bulletin_target_group_bulletin_id_bulletin')),
    sa.ForeignKeyConstraint(['group_id'], ['channel_group.id'], name=op.f('fk_bulletin_target_group_group_id_channel_group')),
    sa.PrimaryKeyConstraint('bulletin_id', 'group_id', name=op.f('pk_bulletin_target_group'))
    )
    with op.batch_alter_table('bulletin_target_group', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_bulletin_target_group_group_id'), ['group_id'], unique=False)

    op.create_table('bulletin_target_ward',
    sa.Column('bulletin_id', sa.Uuid(), nullable=False),
    sa.Column('ward_id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['bulletin_id'], ['bulletin.id'], name=op.f('fk_bulletin_target_ward_bulletin_id_bulletin')),
    sa.ForeignKeyConstraint(['ward_id'], ['ward.id'], name=op.f('fk_bulletin_target_ward_ward_id_ward')),
    sa.PrimaryKeyConstraint('bulletin_id', 'ward_id', name=op.f('pk_bulletin_target_ward'))
    )
    with op.batch_alter_table('bulletin_target_ward', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_bulletin_target_ward_ward_id'), ['ward_id'], unique=False)

    op.create_table('bulletin_transition',
    sa.Column('bulletin_id', sa.Uuid(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('from_status', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('to_status', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('actor_id', sa.Uuid(), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('comment', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True),
    sa.ForeignKeyConstraint(['actor_id'], ['member.id'], name=op.f('fk_bulletin_transition_actor_id_member')),
    sa.ForeignKeyConstraint(['bulletin_id'], ['bulletin.id'], name=op.f('fk_bulletin_transition_bulletin_id_bulletin')),
    sa.PrimaryKeyConstraint('bulletin_id', 'seq', name=op.f('pk_bulletin_transition'))
    )
    with op.batch_alter_table('bulletin_transition', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_bulletin_transition_actor_id'), ['actor_id'], unique=False)

    op.create_table('delivery',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('bulletin_id', sa.Uuid(), nullable=False),
    sa.Column('group_id', sa.Uuid(), nullable=False),
    sa.Column('channel', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('max_attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('lease_expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_error', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True),
    sa.Column('external_post_id', sqlmodel.sql.sqltypes.AutoString(length=256), nullable=True),
    sa.Column('external_url', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True),
    sa.Column('idempotency_key', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('sandbox', sa.Boolean(), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('history', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['bulletin_id'], ['bulletin.id'], name=op.f('fk_delivery_bulletin_id_bulletin')),
    sa.ForeignKeyConstraint(['group_id'], ['channel_group.id'], name=op.f('fk_delivery_group_id_channel_group')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_delivery')),
    sa.UniqueConstraint('bulletin_id', 'group_id', name=op.f('uq_delivery_bulletin_id_group_id')),
    sa.UniqueConstraint('idempotency_key', name=op.f('uq_delivery_idempotency_key'))
    )
    with op.batch_alter_table('delivery', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_delivery_bulletin_id'), ['bulletin_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_delivery_channel'), ['channel'], unique=False)
        batch_op.create_index(batch_op.f('ix_delivery_group_id'), ['group_id'], unique=False)
        batch_op.create_index('ix_delivery_status_lease_expires_at', ['status', 'lease_expires_at'], unique=False)
        batch_op.create_index('ix_delivery_status_next_attempt_at', ['status', 'next_attempt_at'], unique=False)

    op.create_table('delivery_reach',
    sa.Column('delivery_id', sa.Uuid(), nullable=False),
    sa.Column('views', sa.Integer(), nullable=True),
    sa.Column('reactions', sa.Integer(), nullable=True),
    sa.Column('shares', sa.Integer(), nullable=True),
    sa.Column('comments', sa.Integer(), nullable=True),
    sa.Column('fetched_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['delivery_id'], ['delivery.id'], name=op.f('fk_delivery_reach_delivery_id_delivery')),
    sa.PrimaryKeyConstraint('delivery_id', name=op.f('pk_delivery_reach'))
    )


def downgrade() -> None:
    op.drop_table('delivery_reach')
    with op.batch_alter_table('delivery', schema=None) as batch_op:
        batch_op.drop_index('ix_delivery_status_next_attempt_at')
        batch_op.drop_index('ix_delivery_status_lease_expires_at')
        batch_op.drop_index(batch_op.f('ix_delivery_group_id'))
        batch_op.drop_index(batch_op.f('ix_delivery_channel'))
        batch_op.drop_index(batch_op.f('ix_delivery_bulletin_id'))

    op.drop_table('delivery')
    with op.batch_alter_table('bulletin_transition', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_bulletin_transition_actor_id'))

    op.drop_table('bulletin_transition')
    with op.batch_alter_table('bulletin_target_ward', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_bulletin_target_ward_ward_id'))

    op.drop_table('bulletin_target_ward')
    with op.batch_alter_table('bulletin_target_group', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_bulletin_target_group_group_id'))

    op.drop_table('bulletin_target_group')
    op.drop_table('bulletin_attachment')
    with op.batch_alter_table('bulletin', schema=None) as batch_op:
        batch_op.drop_index('ix_bulletin_ward_id_status')
        batch_op.drop_index('ix_bulletin_ward_id_published_at')
        batch_op.drop_index(batch_op.f('ix_bulletin_ward_id'))
        batch_op.drop_index(batch_op.f('ix_bulletin_status'))
        batch_op.drop_index('ix_bulletin_search_folded_trgm', postgresql_using='gin', postgresql_ops={'search_folded': 'gin_trgm_ops'})
        batch_op.drop_index(batch_op.f('ix_bulletin_kind'))
        batch_op.drop_index(batch_op.f('ix_bulletin_author_id'))
        batch_op.drop_index(batch_op.f('ix_bulletin_approved_by'))

    op.drop_table('bulletin')
    op.drop_table('channel_token')
    op.drop_table('channel_state')
