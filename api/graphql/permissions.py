"""Field permissions. Ward scoping itself lives in the repositories; this only demands a caller."""

from __future__ import annotations

from typing import Any

from strawberry.permission import BasePermission

from api.graphql.base import unauthenticated


class IsAuthenticated(BasePermission):
    message = "You need to sign in."

    def has_permission(self, source: Any, info: Any, **kwargs: Any) -> bool:
        if not info.context.actor.authenticated:
            raise unauthenticated()
        return True
