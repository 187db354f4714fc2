"""YouTube channel adapter: bulletins with a video become YouTube uploads."""

from adapters.channels.youtube.gateway import YouTubeGateway

__all__ = ["YouTubeGateway"]
