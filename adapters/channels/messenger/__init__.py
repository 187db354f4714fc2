"""Facebook Messenger: the page's inbox (webhooks in) and replies to one person (Send API out)."""
