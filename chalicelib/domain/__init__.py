"""Domain: definitions, validation, expressions, protocol and scheduling; no I/O, no cloud SDKs."""
