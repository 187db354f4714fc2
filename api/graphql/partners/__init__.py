"""GraphQL API of integration partners: clients, webhooks, deliveries, tipUpdates."""
