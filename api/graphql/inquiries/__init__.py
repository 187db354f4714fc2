"""GraphQL of the procedure knowledge base and residents' inquiries."""
