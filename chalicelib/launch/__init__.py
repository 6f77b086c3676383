"""Container launchers: start, follow, wait for and remove one job's container."""
