#!/usr/bin/env bash
# What `make run` and `make test` need on this machine, made ready: on a fresh Debian machine,
# as root, the packages are installed and the Docker engine started; without root, one
# sentence says what to install. Cheap when everything is there (a dpkg query per package),
# so every `make run` and `make test` calls it first; .ci/run is only `make test`.
#
#   docker.io                  the engine the jobs run on
#   busybox-static debootstrap the example images are built from them, offline
#   git                        the sample repository the example CI clones
#   chromium fonts-dejavu-core the designer's browser tests (and a font to render text with)
#   python3-venv               the project's virtualenv (.venv)
#   gcc libc6-dev              the output relay jobs run under (make relay: a static binary)
#   nodejs npm                 the designer's build and tests, unless a Node.js is installed
set -euo pipefail

need=()
for package in docker.io busybox-static debootstrap git chromium fonts-dejavu-core python3-venv gcc libc6-dev; do
    dpkg -s "$package" > /dev/null 2>&1 || need+=("$package")
done
command -v node > /dev/null 2>&1 || need+=(nodejs npm)

if [ ${#need[@]} -gt 0 ]; then
    if [ "$(id -u)" != 0 ]; then
        echo "ContainerOps needs these Debian packages here: ${need[*]} (as root: apt-get install -y ${need[*]}); then run make again." >&2
        exit 2
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "${need[@]}" > /dev/null
fi

# The designer's build (Vite) needs Node.js 20.19+ or 22.12+, and npm.
if ! node -e '
    const [major, minor] = process.versions.node.split(".").map(Number);
    process.exit(major > 22 || (major === 22 && minor >= 12) || (major === 20 && minor >= 19) ? 0 : 1);
' || ! command -v npm > /dev/null 2>&1; then
    echo "The designer needs Node.js 20.19+ or 22.12+ with npm (found node $(node --version), npm $(npm --version 2>/dev/null || echo missing)): install them, then run make again." >&2
    exit 2
fi

if ! docker info > /dev/null 2>&1; then
    if [ "$(id -u)" != 0 ]; then
        echo "No Docker engine answers here: start it (as root: dockerd &), or join the docker group, then run make again." >&2
        exit 2
    fi
    (dockerd > /tmp/dockerd.log 2>&1 &)
    for _ in $(seq 60); do
        docker info > /dev/null 2>&1 && break
        sleep 1
    done
    docker info > /dev/null 2>&1 || { echo "dockerd did not start:" >&2; tail -20 /tmp/dockerd.log >&2; exit 1; }
fi
