"""Facebook Page channel: bulletins become Page posts through the Meta Graph API."""

from adapters.channels.facebook.gateway import FacebookPageGateway

__all__ = ["FacebookPageGateway"]
