"""The procedure knowledge base: seed articles and the matcher that ranks them."""
