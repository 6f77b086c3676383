#!/usr/bin/env bash
# Stops `make` with one sentence when no Docker engine can be used.
if ! command -v docker > /dev/null 2>&1 || ! docker info > /dev/null 2>&1; then
    echo "No Docker engine answers here: install docker.io and start dockerd (as root: apt-get install -y docker.io busybox-static debootstrap && dockerd &), then run make again." >&2
    exit 2
fi
