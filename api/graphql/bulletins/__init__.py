"""Bulletins and their deliveries: types, inputs, queries and mutations."""
