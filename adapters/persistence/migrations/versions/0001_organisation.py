"""Organisation: wards (units), channel groups, members, identities and role grants.

Revision ID: 0001
Revises: 
Create Date: 2026-11-23 18:34:23.666072
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = '0001'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.create_table('ward',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('code', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('name_folded', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('parent_id', sa.Uuid(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['parent_id'], ['ward.id'], name=op.f('fk_ward_parent_id_ward')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ward')),
    sa.UniqueConstraint('code', name=op.f('uq_ward_code'))
    )
    with op.batch_alter_table('ward', schema=None) as batch_op:
        batch_op.create_index('ix_ward_name_folded_trgm', ['name_folded'], unique=False, postgresql_using='gin', postgresql_ops={'name_folded': 'gin_trgm_ops'})
        batch_op.create_index(batch_op.f('ix_ward_parent_id'), ['parent_id'], unique=False)

    op.create_table('channel_group',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('ward_id', sa.Uuid(), nullable=False),
    sa.Column('channel', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('external_id', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('name_folded', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('description', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True),
    sa.Column('credentials_ref', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('archived_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['ward_id'], ['ward.id'], name=op.f('fk_channel_group_ward_id_ward')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_channel_group')),
    sa.UniqueConstraint('channel', 'external_id', name=op.f('uq_channel_group_channel_external_id'))
    )
    with op.batch_alter_table('channel_group', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_channel_group_channel'), ['channel'], unique=False)
        batch_op.create_index('ix_channel_group_name_folded_trgm', ['name_folded'], unique=False, postgresql_using='gin', postgresql_ops={'name_folded': 'gin_trgm_ops'})
        batch_op.create_index(batch_op.f('ix_channel_group_ward_id'), ['ward_id'], unique=False)
        batch_op.create_index('ix_channel_group_ward_id_channel', ['ward_id', 'channel'], unique=False)

    op.create_table('member',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('ward_id', sa.Uuid(), nullable=False),
    sa.Column('full_name', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.Column('name_folded', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.Column('phone', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
    sa.Column('address', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True),
    sa.Column('household_size', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('removed_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['ward_id'], ['ward.id'], name=op.f('fk_member_ward_id_ward')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_member'))
    )
    with op.batch_alter_table('member', schema=None) as batch_op:
        batch_op.create_index('ix_member_name_folded_trgm', ['name_folded'], unique=False, postgresql_using='gin', postgresql_ops={'name_folded': 'gin_trgm_ops'})
        batch_op.create_index(batch_op.f('ix_member_phone'), ['phone'], unique=False)
        batch_op.create_index(batch_op.f('ix_member_ward_id'), ['ward_id'], unique=False)
        batch_op.create_index('ix_member_ward_id_phone', ['ward_id', 'phone'], unique=False)

    op.create_table('group_membership',
    sa.Column('group_id', sa.Uuid(), nullable=False),
    sa.Column('member_id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['group_id'], ['channel_group.id'], name=op.f('fk_group_membership_group_id_channel_group')),
    sa.ForeignKeyConstraint(['member_id'], ['member.id'], name=op.f('fk_group_membership_member_id_member')),
    sa.PrimaryKeyConstraint('group_id', 'member_id', name=op.f('pk_group_membership'))
    )
    with op.batch_alter_table('group_membership', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_group_membership_member_id'), ['member_id'], unique=False)

    op.create_table('member_identity',
    sa.Column('platform', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('external_id', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.Column('member_id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['member_id'], ['member.id'], name=op.f('fk_member_identity_member_id_member')),
    sa.PrimaryKeyConstraint('platform', 'external_id', name=op.f('pk_member_identity'))
    )
    with op.batch_alter_table('member_identity', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_member_identity_member_id'), ['member_id'], unique=False)

    op.create_table('role_grant',
    sa.Column('member_id', sa.Uuid(), nullable=False),
    sa.Column('ward_id', sa.Uuid(), nullable=False),
    sa.Column('role', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.ForeignKeyConstraint(['member_id'], ['member.id'], name=op.f('fk_role_grant_member_id_member')),
    sa.ForeignKeyConstraint(['ward_id'], ['ward.id'], name=op.f('fk_role_grant_ward_id_ward')),
    sa.PrimaryKeyConstraint('member_id', 'ward_id', 'role', name=op.f('pk_role_grant'))
    )
    with op.batch_alter_table('role_grant', schema=None) as batch_op:
        batch_op.create_index('ix_role_grant_ward_id_role', ['ward_id', 'role'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('role_grant', schema=None) as batch_op:
        batch_op.drop_index('ix_role_grant_ward_id_role')

    op.drop_table('role_grant')
    with op.batch_alter_table('member_identity', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_member_identity_member_id'))

    op.drop_table('member_identity')
    with op.batch_alter_table('group_membership', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_group_membership_member_id'))

    op.drop_table('group_membership')
    with op.batch_alter_table('member', schema=None) as batch_op:
        batch_op.drop_index('ix_member_ward_id_phone')
        batch_op.drop_index(batch_op.f('ix_member_ward_id'))
        batch_op.drop_index(batch_op.f('ix_member_phone'))
        batch_op.drop_index('ix_member_name_folded_trgm', postgresql_using='gin', postgresql_ops={'name_folded': 'gin_trgm_ops'})

    op.drop_table('member')
    with op.batch_alter_table('channel_group', schema=None) as batch_op:
        batch_op.drop_index('ix_channel_group_ward_id_channel')
        batch_op.drop_index(batch_op.f('ix_channel_group_ward_id'))
        batch_op.drop_index('ix_channel_group_name_folded_trgm', postgresql_using='gin', postgresql_ops={'name_folded': 'gin_trgm_ops'})
        batch_op.drop_index(batch_op.f('ix_channel_group_channel'))

    op.drop_table('channel_group')
    with op.batch_alter_table('ward', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ward_parent_id'))
        batch_op.drop_index('ix_ward_name_folded_trgm', postgresql_using='gin', postgresql_ops={'name_folded': 'gin_trgm_ops'})

    op.drop_table('ward')
