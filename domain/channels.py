"""The channels a group can live on, and the platforms a person can be known by."""

from __future__ import annotations

from enum import StrEnum


class ChannelKind(StrEnum):
    ZALO_GROUP = "zalo_group"
    ZALO_OA = "zalo_oa"
    FACEBOOK_PAGE = "facebook_page"
    YOUTUBE_CHANNEL = "youtube_channel"
    PORTAL = "portal"


class Platform(StrEnum):
    """Where a person has an id of their own (Zalo user id, Messenger page-scoped id)."""

    ZALO = "zalo"
    MESSENGER = "messenger"
    APP = "app"
