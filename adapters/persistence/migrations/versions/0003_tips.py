"""Tips: the tip, its history, thread and files; the sealed reporter identity; the audit log.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 19:56:30.262294
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('reporter_identity',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('key_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('sealed', sa.LargeBinary(), nullable=False),
    sa.Column('lookup_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reporter_identity'))
    )
    with op.batch_alter_table('reporter_identity', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_reporter_identity_lookup_hash'), ['lookup_hash'], unique=False)

    op.create_table('audit_log',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('actor_id', sa.Uuid(), nullable=True),
    sa.Column('ward_id', sa.Uuid(), nullable=True),
    sa.Column('action', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('subject_type', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('subject_id', sa.Uuid(), nullable=False),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['member.id'], name=op.f('fk_audit_log_actor_id_member')),
    sa.ForeignKeyConstraint(['ward_id'], ['ward.id'], name=op.f('fk_audit_log_ward_id_ward')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_log'))
    )
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_log_actor_id'), ['actor_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_log_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_log_subject_id'), ['subject_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_log_ward_id'), ['ward_id'], unique=False)

    op.create_table('tip',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('ward_id', sa.Uuid(), nullable=False),
    sa.Column('group_id', sa.Uuid(), nullable=True),
    sa.Column('tracking_code', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('category', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('source', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('body_folded', sa.Text(), nullable=False),
    sa.Column('anonymous', sa.Boolean(), nullable=False),
    sa.Column('reporter_id', sa.Uuid(), nullable=True),
    sa.Column('assignee_id', sa.Uuid(), nullable=True),
    sa.Column('outcome', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
    sa.Column('arrests', sa.Integer(), nullable=False),
    sa.Column('dismiss_reason', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('escalated_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('acknowledged_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['assignee_id'], ['member.id'], name=op.f('fk_tip_assignee_id_member')),
    sa.ForeignKeyConstraint(['group_id'], ['channel_group.id'], name=op.f('fk_tip_group_id_channel_group')),
    sa.ForeignKeyConstraint(['reporter_id'], ['reporter_identity.id'], name=op.f('fk_tip_reporter_id_reporter_identity')),
    sa.ForeignKeyConstraint(['ward_id'], ['ward.id'], name=op.f('fk_tip_ward_id_ward')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tip')),
    sa.UniqueConstraint('tracking_code', name=op.f('uq_tip_tracking_code'))
    )
    with op.batch_alter_table('tip', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_tip_assignee_id'), ['assignee_id'], unique=False)
        batch_op.create_index('ix_tip_body_folded_trgm', ['body_folded'], unique=False, postgresql_using='gin', postgresql_ops={'body_folded': 'gin_trgm_ops'})
        batch_op.create_index(batch_op.f('ix_tip_category'), ['category'], unique=False)
        batch_op.create_index(batch_op.f('ix_tip_group_id'), ['group_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_tip_reporter_id'), ['reporter_id'], unique=False)
        batch_op.create_index('ix_tip_status_due_at', ['status', 'due_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_tip_ward_id'), ['ward_id'], unique=False)
        batch_op.create_index('ix_tip_ward_id_status', ['ward_id', 'status'], unique=False)

    op.create_table('tip_attachment',
    sa.Column('tip_id', sa.Uuid(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('blob_key', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.Column('media_type', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('filename', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('size_bytes', sa.BigInteger(), nullable=False),
    sa.Column('content_type', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.ForeignKeyConstraint(['tip_id'], ['tip.id'], name=op.f('fk_tip_attachment_tip_id_tip')),
    sa.PrimaryKeyConstraint('tip_id', 'position', name=op.f('pk_tip_attachment'))
    )
    op.create_table('tip_message',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('tip_id', sa.Uuid(), nullable=False),
    sa.Column('direction', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('author_id', sa.Uuid(), nullable=True),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('channel', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('external_message_id', sqlmodel.sql.sqltypes.AutoString(length=256), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['author_id'], ['member.id'], name=op.f('fk_tip_message_author_id_member')),
    sa.ForeignKeyConstraint(['tip_id'], ['tip.id'], name=op.f('fk_tip_message_tip_id_tip')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tip_message')),
    sa.UniqueConstraint('channel', 'external_message_id', name=op.f('uq_tip_message_channel_external_message_id'))
    )
    with op.batch_alter_table('tip_message', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_tip_message_author_id'), ['author_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_tip_message_tip_id'), ['tip_id'], unique=False)

    op.create_table('tip_transition',
    sa.Column('tip_id', sa.Uuid(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('from_status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('to_status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('actor_id', sa.Uuid(), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('comment', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True),
    sa.ForeignKeyConstraint(['actor_id'], ['member.id'], name=op.f('fk_tip_transition_actor_id_member')),
    sa.ForeignKeyConstraint(['tip_id'], ['tip.id'], name=op.f('fk_tip_transition_tip_id_tip')),
    sa.PrimaryKeyConstraint('tip_id', 'seq', name=op.f('pk_tip_transition'))
    )
    with op.batch_alter_table('tip_transition', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_tip_transition_actor_id'), ['actor_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('tip_transition', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_tip_transition_actor_id'))

    op.drop_table('tip_transition')
    with op.batch_alter_table('tip_message', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_tip_message_tip_id'))
        batch_op.drop_index(batch_op.f('ix_tip_message_author_id'))

    op.drop_table('tip_message')
    op.drop_table('tip_attachment')
    with op.batch_alter_table('tip', schema=None) as batch_op:
        batch_op.drop_index('ix_tip_ward_id_status')
        batch_op.drop_index(batch_op.f('ix_tip_ward_id'))
        batch_op.drop_index('ix_tip_status_due_at')
        batch_op.drop_index(batch_op.f('ix_tip_reporter_id'))
        batch_op.drop_index(batch_op.f('ix_tip_group_id'))
        batch_op.drop_index(batch_op.f('ix_tip_category'))
        batch_op.drop_index('ix_tip_body_folded_trgm', postgresql_using='gin', postgresql_ops={'body_folded': 'gin_trgm_ops'})
        batch_op.drop_index(batch_op.f('ix_tip_assignee_id'))

    op.drop_table('tip')
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_log_ward_id'))
        batch_op.drop_index(batch_op.f('ix_audit_log_subject_id'))
        batch_op.drop_index(batch_op.f('ix_audit_log_at'))
        batch_op.drop_index(batch_op.f('ix_audit_log_actor_id'))

    op.drop_table('audit_log')
    with op.batch_alter_table('reporter_identity', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_reporter_identity_lookup_hash'))

    op.drop_table('reporter_identity')
