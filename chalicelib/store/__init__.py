"""Persistence of definitions and runs behind one interface (`base.Store`)."""
