"""The HTTP layer: request parsing, error answers and the services the routes call."""
