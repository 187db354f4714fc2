"""Inquiries and the procedure knowledge base: articles, versions, history; inquiries, history.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07 03:28:55.530566
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('procedure',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('code', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
    sa.Column('department', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('content', sa.Text(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_procedure')),
    sa.UniqueConstraint('code', name=op.f('uq_procedure_code'))
    )
    with op.batch_alter_table('procedure', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_procedure_department'), ['department'], unique=False)
        batch_op.create_index(batch_op.f('ix_procedure_status'), ['status'], unique=False)

    op.create_table('procedure_revision',
    sa.Column('procedure_id', sa.Uuid(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('content', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['procedure_id'], ['procedure.id'], name=op.f('fk_procedure_revision_procedure_id_procedure')),
    sa.PrimaryKeyConstraint('procedure_id', 'version', name=op.f('pk_procedure_revision'))
    )
    op.create_table('inquiry',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('ward_id', sa.Uuid(), nullable=False),
    sa.Column('group_id', sa.Uuid(), nullable=True),
    sa.Column('source', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('question', sa.Text(), nullable=False),
    sa.Column('question_folded', sa.Text(), nullable=False),
    sa.Column('procedure_code', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('match_confidence', sa.Float(), nullable=True),
    sa.Column('answer', sa.Text(), nullable=True),
    sa.Column('answered_by', sa.Uuid(), nullable=True),
    sa.Column('department', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('reopened', sa.Boolean(), nullable=False),
    sa.Column('asker_member_id', sa.Uuid(), nullable=True),
    sa.Column('asker_id', sa.Uuid(), nullable=True),
    sa.Column('external_message_id', sqlmodel.sql.sqltypes.AutoString(length=256), nullable=True),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['answered_by'], ['member.id'], name=op.f('fk_inquiry_answered_by_member')),
    sa.ForeignKeyConstraint(['asker_id'], ['reporter_identity.id'], name=op.f('fk_inquiry_asker_id_reporter_identity')),
    sa.ForeignKeyConstraint(['asker_member_id'], ['member.id'], name=op.f('fk_inquiry_asker_member_id_member')),
    sa.ForeignKeyConstraint(['group_id'], ['channel_group.id'], name=op.f('fk_inquiry_group_id_channel_group')),
    sa.ForeignKeyConstraint(['ward_id'], ['ward.id'], name=op.f('fk_inquiry_ward_id_ward')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inquiry')),
    sa.UniqueConstraint('source', 'external_message_id', name=op.f('uq_inquiry_source_external_message_id'))
    )
    with op.batch_alter_table('inquiry', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_inquiry_answered_by'), ['answered_by'], unique=False)
        batch_op.create_index(batch_op.f('ix_inquiry_asker_id'), ['asker_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_inquiry_asker_member_id'), ['asker_member_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_inquiry_department'), ['department'], unique=False)
        batch_op.create_index(batch_op.f('ix_inquiry_group_id'), ['group_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_inquiry_procedure_code'), ['procedure_code'], unique=False)
        batch_op.create_index('ix_inquiry_question_folded_trgm', ['question_folded'], unique=False, postgresql_using='gin', postgresql_ops={'question_folded': 'gin_trgm_ops'})
        batch_op.create_index(batch_op.f('ix_inquiry_received_at'), ['received_at'], unique=False)
        batch_op.create_index('ix_inquiry_status_department_due_at', ['status', 'department', 'due_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_inquiry_ward_id'), ['ward_id'], unique=False)
        batch_op.create_index('ix_inquiry_ward_id_status', ['ward_id', 'status'], unique=False)

    op.create_table('procedure_transition',
    sa.Column('procedure_id', sa.Uuid(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('from_status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('to_status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('actor_id', sa.Uuid(), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('comment', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True),
    sa.ForeignKeyConstraint(['actor_id'], ['member.id'], name=op.f('fk_procedure_transition_actor_id_member')),
    sa.ForeignKeyConstraint(['procedure_id'], ['procedure.id'], name=op.f('fk_procedure_transition_procedure_id_procedure')),
    sa.PrimaryKeyConstraint('procedure_id', 'seq', name=op.f('pk_procedure_transition'))
    )
    with op.batch_alter_table('procedure_transition', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_procedure_transition_actor_id'), ['actor_id'], unique=False)

    op.create_table('inquiry_transition',
    sa.Column('inquiry_id', sa.Uuid(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('from_status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('to_status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('actor_id', sa.Uuid(), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('comment', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True),
    sa.ForeignKeyConstraint(['actor_id'], ['member.id'], name=op.f('fk_inquiry_transition_actor_id_member')),
    sa.ForeignKeyConstraint(['inquiry_id'], ['inquiry.id'], name=op.f('fk_inquiry_transition_inquiry_id_inquiry')),
    sa.PrimaryKeyConstraint('inquiry_id', 'seq', name=op.f('pk_inquiry_transition'))
    )
    with op.batch_alter_table('inquiry_transition', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_inquiry_transition_actor_id'), ['actor_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('inquiry_transition', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_inquiry_transition_actor_id'))

    op.drop_table('inquiry_transition')
    with op.batch_alter_table('procedure_transition', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_procedure_transition_actor_id'))

    op.drop_table('procedure_transition')
    with op.batch_alter_table('inquiry', schema=None) as batch_op:
        batch_op.drop_index('ix_inquiry_ward_id_status')
        batch_op.drop_index(batch_op.f('ix_inquiry_ward_id'))
        batch_op.drop_index('ix_inquiry_status_department_due_at')
        batch_op.drop_index(batch_op.f('ix_inquiry_received_at'))
        batch_op.drop_index('ix_inquiry_question_folded_trgm', postgresql_using='gin', postgresql_ops={'question_folded': 'gin_trgm_ops'})
        batch_op.drop_index(batch_op.f('ix_inquiry_procedure_code'))
        batch_op.drop_index(batch_op.f('ix_inquiry_group_id'))
        batch_op.drop_index(batch_op.f('ix_inquiry_department'))
        batch_op.drop_index(batch_op.f('ix_inquiry_asker_member_id'))
        batch_op.drop_index(batch_op.f('ix_inquiry_asker_id'))
        batch_op.drop_index(batch_op.f('ix_inquiry_answered_by'))

    op.drop_table('inquiry')
    op.drop_table('procedure_revision')
    with op.batch_alter_table('procedure', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_procedure_status'))
        batch_op.drop_index(batch_op.f('ix_procedure_department'))

    op.drop_table('procedure')
