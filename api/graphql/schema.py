"""The schema: queries, mutations and the extensions that keep it safe and fast."""

from __future__ import annotations

import functools
import logging
import uuid
from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry import relay
from strawberry.extensions import (
    AddValidationRules,
    DisableIntrospection,
    MaskErrors,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    ValidationCache,
)
from strawberry.relay.types import GlobalIDValueError
from strawberry.schema.config import StrawberryConfig
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from api.config import Settings
from api.graphql.bulletins.mutations import BulletinMutation
from api.graphql.bulletins.queries import BulletinQuery
from api.graphql.bulletins.subscriptions import BulletinSubscription
from api.graphql.inquiries.mutations import InquiryMutation
from api.graphql.inquiries.queries import InquiryQuery
from api.graphql.inquiries.subscriptions import InquirySubscription
from api.graphql.organisation.mutations import OrganisationMutation
from api.graphql.organisation.queries import OrganisationQuery
from api.graphql.partners.mutations import PartnerMutation
from api.graphql.partners.queries import PartnerQuery
from api.graphql.partners.subscriptions import PartnerSubscription
from api.graphql.permissions import IsAuthenticated
from api.graphql.tips.mutations import TipMutation
from api.graphql.tips.queries import TipQuery

log = logging.getLogger("gandan.graphql")


@strawberry.type
class Query(OrganisationQuery, BulletinQuery, TipQuery, PartnerQuery, InquiryQuery):
    node: relay.Node | None = relay.node(
        description="Any object by its global id; null when absent or not yours.",
        permission_classes=[IsAuthenticated],
    )
    nodes: list[relay.Node | None] = relay.node(
        description="Objects by global id, null for each absent or not yours.",
        permission_classes=[IsAuthenticated],
    )


@strawberry.type
class Mutation(
    OrganisationMutation, BulletinMutation, TipMutation, PartnerMutation, InquiryMutation
):
    pass


@strawberry.type
class Subscription(BulletinSubscription, PartnerSubscription, InquirySubscription):
    pass


def _should_mask(error: GraphQLError) -> bool:
    """Mask what the client could not have caused; log it with an id the client can quote."""
    original = error.original_error
    # A GraphQLError underneath is deliberate: our ClientError, or graphql-core refusing a
    # variable's value (an unknown enum value, a string for an Int).
    if original is None or isinstance(original, GraphQLError | GlobalIDValueError):
        return False
    incident = uuid.uuid4().hex[:12]
    log.error("unexpected error %s in %s", incident, error.path, exc_info=original)
    error.extensions = {**(error.extensions or {}), "code": "INTERNAL", "incident": incident}
    return True


class _MaskErrors(MaskErrors):
    """MaskErrors builds a fresh error without extensions; keep the code and incident id."""

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        masked = super().anonymise_error(error)
        kept = {k: v for k, v in (error.extensions or {}).items() if k in ("code", "incident")}
        masked.extensions = kept or None
        return masked


class _PerEventSubfields(StrawberryGraphQLCoreExecutionContext):
    """graphql-core 3.3 gives a subscription's events one memo of collected subfields, shared
    with the subscription and keyed by the identity of lists each event makes anew: every event
    adds entries that live as long as the subscription (about 35 objects per event and
    subscription; 1,000 partners and 70 tip changes left 2.5 million objects, 240 MB, and full
    collections over a second long: bench/tip_fanout.py). Each event gets a memo of its own, as
    every query execution has."""

    def build_per_event_executor(self, payload: Any) -> Any:
        executor = super().build_per_event_executor(payload)
        if isinstance(getattr(executor, "_relevant_sub_fields", None), dict):
            executor._relevant_sub_fields = {}
        return executor


def build_schema(settings: Settings | None = None) -> strawberry.Schema:
    settings = settings or Settings()
    return _schema(
        settings.max_query_depth, settings.max_aliases, settings.max_tokens, settings.introspection
    )


@functools.cache
def _schema(
    max_depth: int, max_aliases: int, max_tokens: int, introspection: bool
) -> strawberry.Schema:
    """One schema per set of limits: strawberry binds resolvers to the shared field objects."""
    # Factories, so each request gets fresh extension state; the parse and validation caches
    # themselves live at module level and are shared.
    # The depth and alias limiters each define a new rule class per instance, and the validation
    # cache is keyed by the rule classes: build the (stateless) rules once per schema, or every
    # request misses the cache and is validated again.
    limits = [
        *QueryDepthLimiter(max_depth=max_depth).validation_rules,
        *MaxAliasesLimiter(max_alias_count=max_aliases).validation_rules,
    ]
    extensions: list = [
        lambda: ParserCache(maxsize=512),
        lambda: ValidationCache(maxsize=512),
        lambda: AddValidationRules(limits),
        lambda: MaxTokensLimiter(max_token_count=max_tokens),
        lambda: _MaskErrors(should_mask_error=_should_mask, error_message="Unexpected error."),
    ]
    if not introspection:
        extensions.append(DisableIntrospection)
    return strawberry.Schema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        extensions=extensions,
        config=StrawberryConfig(auto_camel_case=True),
        execution_context_class=_PerEventSubfields,
    )
