"""The shared execution engine: every decision about a run that both drivers must agree on."""
