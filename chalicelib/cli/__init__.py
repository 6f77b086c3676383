"""The `containerops` command line."""
