#!/bin/sh
# Build the root filesystem of containerops/debian-python:1 into DIR.
#
# Debian bookworm, minbase variant, with Python 3, git, pytest, flake8 and boto3 from the
# Debian archive (no pip, no public image). The mirror is the one the host's apt is
# already configured with (or $DEBOOTSTRAP_MIRROR), so this file names no host.
# Needs root (debootstrap chroots and creates device nodes). Called by build-images.sh.
set -eu

DIR=${1:?usage: build-rootfs.sh DIR}
SUITE=${DEBIAN_SUITE:-bookworm}
# ca-certificates: lets git-clone fetch https:// repositories, not only mounted paths.
# python3-boto3: the workspace sidecar built on this base (infra/workspace-image) uses S3.
PACKAGES=python3,git,python3-pytest,flake8,ca-certificates,python3-boto3

# The first archive URI the host's apt uses for $SUITE (deb822 .sources or one-line .list).
apt_mirror() {
    for file in /etc/apt/sources.list.d/*.sources; do
        [ -f "$file" ] || continue
        awk -v suite="$SUITE" 'BEGIN { RS = ""; FS = "\n" } {
            uris = ""; hit = 0
            for (i = 1; i <= NF; i++) {
                if ($i ~ /^URIs:/) { sub(/^URIs:[ \t]*/, "", $i); split($i, u, /[ \t]+/); uris = u[1] }
                if ($i ~ /^Suites:/) { n = split($i, s, /[ \t]+/); for (j = 2; j <= n; j++) if (s[j] == suite) hit = 1 }
            }
            if (hit && uris != "") { print uris; exit }
        }' "$file"
    done
    for file in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
        [ -f "$file" ] || continue
        awk -v suite="$SUITE" '$1 == "deb" {
            f = 2; if ($2 ~ /^\[/) { while (f <= NF && $f !~ /\]$/) f++; f++ }
            if ($(f + 1) == suite) { print $f; exit }
        }' "$file"
    done
}

MIRROR=${DEBOOTSTRAP_MIRROR:-$(apt_mirror | head -n 1)}
if [ -z "$MIRROR" ]; then
    echo "build-rootfs: no apt source for '$SUITE' found in /etc/apt; set DEBOOTSTRAP_MIRROR to a Debian mirror URL." >&2
    exit 1
fi

# Use apt's proxy, if the host has one, for debootstrap's downloads too.
if [ -z "${http_proxy:-}" ]; then
    eval "$(apt-config shell http_proxy Acquire::http::Proxy)"
    if [ -n "${http_proxy:-}" ]; then export http_proxy; fi
fi

rm -rf "$DIR"
mkdir -p "$DIR"
debootstrap --variant=minbase --include="$PACKAGES" "$SUITE" "$DIR" "$MIRROR"

# Trim what a job never needs: package caches, indexes, docs and man pages.
rm -rf "$DIR"/var/cache/apt/archives/*.deb "$DIR"/var/cache/apt/*.bin \
       "$DIR"/var/lib/apt/lists/* "$DIR"/var/log/* \
       "$DIR"/usr/share/doc/* "$DIR"/usr/share/man/* "$DIR"/usr/share/info/*
find "$DIR"/usr/share/locale -mindepth 1 -maxdepth 1 ! -name 'locale.alias' -exec rm -rf {} +

# The user jobs run as (uid/gid 1000), and a workspace mount point.
echo 'containerops:x:1000:1000:ContainerOps job:/tmp:/bin/sh' >> "$DIR/etc/passwd"
echo 'containerops:x:1000:' >> "$DIR/etc/group"
mkdir -p "$DIR/workspace"
chmod 1777 "$DIR/tmp"
