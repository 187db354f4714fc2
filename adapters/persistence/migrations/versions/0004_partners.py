"""Partners: OAuth2 clients and their units, webhooks, and the webhook delivery outbox.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 19:59:34.582757
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('partner_client',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('client_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('scopes', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('secret_hash', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.Uuid(), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_by', sa.Uuid(), nullable=True),
    sa.ForeignKeyConstraint(['created_by'], ['member.id'], name=op.f('fk_partner_client_created_by_member')),
    sa.ForeignKeyConstraint(['revoked_by'], ['member.id'], name=op.f('fk_partner_client_revoked_by_member')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_partner_client')),
    sa.UniqueConstraint('client_id', name=op.f('uq_partner_client_client_id'))
    )
    with op.batch_alter_table('partner_client', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_partner_client_created_by'), ['created_by'], unique=False)
        batch_op.create_index(batch_op.f('ix_partner_client_revoked_by'), ['revoked_by'], unique=False)

    op.create_table('partner_client_ward',
    sa.Column('client_id', sa.Uuid(), nullable=False),
    sa.Column('ward_id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['client_id'], ['partner_client.id'], name=op.f('fk_partner_client_ward_client_id_partner_client')),
    sa.ForeignKeyConstraint(['ward_id'], ['ward.id'], name=op.f('fk_partner_client_ward_ward_id_ward')),
    sa.PrimaryKeyConstraint('client_id', 'ward_id', name=op.f('pk_partner_client_ward'))
    )
    with op.batch_alter_table('partner_client_ward', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_partner_client_ward_ward_id'), ['ward_id'], unique=False)

    op.create_table('partner_webhook',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('client_id', sa.Uuid(), nullable=False),
    sa.Column('url', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
    sa.Column('events', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('secret_key_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('secret_sealed', sa.LargeBinary(), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('status_reason', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
    sa.Column('status_changed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['client_id'], ['partner_client.id'], name=op.f('fk_partner_webhook_client_id_partner_client')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_partner_webhook'))
    )
    with op.batch_alter_table('partner_webhook', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_partner_webhook_client_id'), ['client_id'], unique=False)

    op.create_table('partner_webhook_delivery',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('webhook_id', sa.Uuid(), nullable=False),
    sa.Column('client_id', sa.Uuid(), nullable=False),
    sa.Column('ward_id', sa.Uuid(), nullable=False),
    sa.Column('tip_id', sa.Uuid(), nullable=False),
    sa.Column('event_type', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('payload', sa.Text(), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('max_attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('lease_expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_status_code', sa.Integer(), nullable=True),
    sa.Column('last_error', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('replays', sa.Integer(), nullable=False),
    sa.Column('log', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['client_id'], ['partner_client.id'], name=op.f('fk_partner_webhook_delivery_client_id_partner_client')),
    sa.ForeignKeyConstraint(['tip_id'], ['tip.id'], name=op.f('fk_partner_webhook_delivery_tip_id_tip')),
    sa.ForeignKeyConstraint(['ward_id'], ['ward.id'], name=op.f('fk_partner_webhook_delivery_ward_id_ward')),
    sa.ForeignKeyConstraint(['webhook_id'], ['partner_webhook.id'], name=op.f('fk_partner_webhook_delivery_webhook_id_partner_webhook')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_partner_webhook_delivery'))
    )
    with op.batch_alter_table('partner_webhook_delivery', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_partner_webhook_delivery_client_id'), ['client_id'], unique=False)
        batch_op.create_index('ix_partner_webhook_delivery_status_lease_expires_at', ['status', 'lease_expires_at'], unique=False)
        batch_op.create_index('ix_partner_webhook_delivery_status_next_attempt_at', ['status', 'next_attempt_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_partner_webhook_delivery_tip_id'), ['tip_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_partner_webhook_delivery_ward_id'), ['ward_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_partner_webhook_delivery_webhook_id'), ['webhook_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('partner_webhook_delivery', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_partner_webhook_delivery_webhook_id'))
        batch_op.drop_index(batch_op.f('ix_partner_webhook_delivery_ward_id'))
        batch_op.drop_index(batch_op.f('ix_partner_webhook_delivery_tip_id'))
        batch_op.drop_index('ix_partner_webhook_delivery_status_next_attempt_at')
        batch_op.drop_index('ix_partner_webhook_delivery_status_lease_expires_at')
        batch_op.drop_index(batch_op.f('ix_partner_webhook_delivery_client_id'))

    op.drop_table('partner_webhook_delivery')
    with op.batch_alter_table('partner_webhook', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_partner_webhook_client_id'))

    op.drop_table('partner_webhook')
    with op.batch_alter_table('partner_client_ward', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_partner_client_ward_ward_id'))

    op.drop_table('partner_client_ward')
    with op.batch_alter_table('partner_client', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_partner_client_revoked_by'))
        batch_op.drop_index(batch_op.f('ix_partner_client_created_by'))

    op.drop_table('partner_client')
