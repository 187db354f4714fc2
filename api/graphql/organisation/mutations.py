"""Mutations of the organisation: noun first, one input, a payload with the object and userErrors."""

from __future__ import annotations

import strawberry

from adapters.imports.households import read_household_file
from api.graphql.base import UserError, decode_id, mutate
from api.graphql.context import Info
from api.graphql.organisation import inputs
from api.graphql.organisation.types import Group, Member, Ward
from domain.errors import DomainError, ErrorCode
from domain.ids import WardId


def _size(limit: int) -> str:
    return f"{limit / 1024 / 1024:g} MB" if limit >= 1024 * 1024 else f"{limit / 1024:g} KB"


@strawberry.type
class WardPayload:
    ward: Ward | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class GroupPayload:
    group: Group | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class MemberPayload:
    member: Member | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type(description="A problem in one cell of an imported file.")
class ImportRowError:
    row: int = strawberry.field(description="Line in the file, the header being line 1.")
    column: str
    code: ErrorCode
    message: str
    message_en: str


@strawberry.type(description="All or nothing: when rowErrors is not empty, nothing was stored.")
class MemberImportPayload:
    created_count: int = 0
    updated_count: int = 0
    row_errors: list[ImportRowError] = strawberry.field(default_factory=list)
    user_errors: list[UserError] = strawberry.field(default_factory=list)


def _ward_payload(ward) -> WardPayload:
    return WardPayload(ward=Ward.from_domain(ward))


def _group_payload(group) -> GroupPayload:
    return GroupPayload(group=Group.from_domain(group))


def _member_payload(member) -> MemberPayload:
    return MemberPayload(member=Member.from_domain(member))


def _ward_failed(errors: list[UserError]) -> WardPayload:
    return WardPayload(user_errors=errors)


def _group_failed(errors: list[UserError]) -> GroupPayload:
    return GroupPayload(user_errors=errors)


def _member_failed(errors: list[UserError]) -> MemberPayload:
    return MemberPayload(user_errors=errors)


@strawberry.type
class OrganisationMutation:
    @strawberry.mutation(description="Create a unit under one you administer.")
    async def ward_create(self, info: Info, input: inputs.WardCreateInput) -> WardPayload:
        svc, actor = info.context.container.organisation, info.context.actor
        return await mutate(
            lambda: svc.create_ward(actor, input.to_command()), _ward_payload, _ward_failed
        )

    @strawberry.mutation
    async def ward_update(self, info: Info, input: inputs.WardUpdateInput) -> WardPayload:
        svc, actor = info.context.container.organisation, info.context.actor
        return await mutate(
            lambda: svc.update_ward(actor, input.to_command()), _ward_payload, _ward_failed
        )

    @strawberry.mutation
    async def group_create(self, info: Info, input: inputs.GroupCreateInput) -> GroupPayload:
        svc, actor = info.context.container.organisation, info.context.actor
        return await mutate(
            lambda: svc.create_group(actor, input.to_command()), _group_payload, _group_failed
        )

    @strawberry.mutation
    async def group_update(self, info: Info, input: inputs.GroupUpdateInput) -> GroupPayload:
        svc, actor = info.context.container.organisation, info.context.actor
        return await mutate(
            lambda: svc.update_group(actor, input.to_command()), _group_payload, _group_failed
        )

    @strawberry.mutation(
        description="Archive a group: it keeps its history but receives nothing more."
    )
    async def group_archive(self, info: Info, input: inputs.GroupArchiveInput) -> GroupPayload:
        svc, actor = info.context.container.organisation, info.context.actor
        return await mutate(
            lambda: svc.archive_group(actor, input.to_id()), _group_payload, _group_failed
        )

    @strawberry.mutation
    async def member_create(self, info: Info, input: inputs.MemberCreateInput) -> MemberPayload:
        svc, actor = info.context.container.organisation, info.context.actor
        return await mutate(
            lambda: svc.create_member(actor, input.to_command()), _member_payload, _member_failed
        )

    @strawberry.mutation
    async def member_update(self, info: Info, input: inputs.MemberUpdateInput) -> MemberPayload:
        svc, actor = info.context.container.organisation, info.context.actor
        return await mutate(
            lambda: svc.update_member(actor, input.to_command()), _member_payload, _member_failed
        )

    @strawberry.mutation
    async def member_remove(self, info: Info, input: inputs.MemberRemoveInput) -> MemberPayload:
        svc, actor = info.context.container.organisation, info.context.actor
        return await mutate(
            lambda: svc.remove_member(actor, input.to_id()), _member_payload, _member_failed
        )

    @strawberry.mutation
    async def role_assign(self, info: Info, input: inputs.RoleChangeInput) -> MemberPayload:
        svc, actor = info.context.container.organisation, info.context.actor
        return await mutate(
            lambda: svc.assign_role(actor, input.to_command()), _member_payload, _member_failed
        )

    @strawberry.mutation
    async def role_revoke(self, info: Info, input: inputs.RoleChangeInput) -> MemberPayload:
        svc, actor = info.context.container.organisation, info.context.actor
        return await mutate(
            lambda: svc.revoke_role(actor, input.to_command()), _member_payload, _member_failed
        )

    @strawberry.mutation(
        description="Import a ward's household list (CSV or XLSX). All or nothing: a file with any bad "
        "row stores nothing and reports every bad cell; rows matching a member of the ward by phone "
        "update that member, others create residents."
    )
    async def member_import(
        self, info: Info, input: inputs.MemberImportInput
    ) -> MemberImportPayload:
        svc, actor = info.context.container.organisation, info.context.actor
        limit = info.context.container.settings.max_upload_bytes

        async def run():
            actor.require_authenticated()  # before reading and parsing anything a stranger sent
            ward_id = WardId(decode_id(input.ward_id, "Ward", ("wardId",)))
            data = await input.file.read(limit + 1)
            if len(data) > limit:
                raise DomainError.one(
                    ErrorCode.INVALID_FILE,
                    f"Tệp lớn hơn {_size(limit)}.",
                    f"The file is larger than {_size(limit)}.",
                    ("file",),
                )
            rows = read_household_file(data, getattr(input.file, "filename", None))
            return await svc.import_members(actor, ward_id, rows)

        def ok(result) -> MemberImportPayload:
            return MemberImportPayload(
                created_count=result.created,
                updated_count=result.updated,
                row_errors=[
                    ImportRowError(
                        row=e.row,
                        column=e.column,
                        code=e.code,
                        message=e.message.vi,
                        message_en=e.message.en,
                    )
                    for e in result.errors
                ],
            )

        return await mutate(run, ok, lambda errors: MemberImportPayload(user_errors=errors))
