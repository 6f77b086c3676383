"""A run's shared /workspace on AWS, kept as layers under the run's S3 prefix.

A layer is a gzip'd tar of what one job attempt changed in /workspace: every file,
directory and symlink it added or changed (with its mode and, for files, its mtime) and the
list of paths it deleted. Layers are named by the time they were saved, so the run's layers
sort in save order, and restoring applies them in that order into an empty volume: a job
therefore sees every layer saved before it started, which is all of its upstream jobs' (they
ended before it began). Parallel jobs each save their own layer, so writes to different
paths all survive; when two wrote the same path, the one saved later wins. A deletion is
carried as a path, and removes the whole tree when that path is a directory. A failed
attempt's layer is kept and counts like its writes do on the local driver, where they stay
in the shared folder; a re-run from failure starts from copies of the layers of the run it
re-runs, as the local driver starts from a copy of that run's folder. `layers` is the pure
format (snapshot, write, apply), `store` the port where layers are kept, `sync` the restore
and save operations on it, `sidecar` the containers' entry point.
"""
