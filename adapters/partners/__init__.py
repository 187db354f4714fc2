"""Integration partners: outbound webhooks."""
