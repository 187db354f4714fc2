"""Zalo Official Account channels: OA-managed groups (GMF) and OA article broadcasts."""

from adapters.channels.zalo.gateway import ZaloGroupGateway, ZaloOaGateway

__all__ = ["ZaloGroupGateway", "ZaloOaGateway"]
