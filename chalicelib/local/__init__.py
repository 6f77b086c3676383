"""The local driver: runs workflows on the Docker engine of this machine."""
