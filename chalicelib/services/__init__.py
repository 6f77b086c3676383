"""Use cases shared by the CLI and the API: they speak domain, and take adapters as arguments."""
