"""The portal channel: a ward's Atom feed for portals that pull, WordPress for those that take pushes."""

from adapters.channels.portal.atom import AtomEntry, AtomFeed, render_atom
from adapters.channels.portal.gateway import PortalGateway

__all__ = ["AtomEntry", "AtomFeed", "PortalGateway", "render_atom"]
