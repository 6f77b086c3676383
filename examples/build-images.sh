#!/usr/bin/env bash
# Build the images the ContainerOps examples run on, on the local Docker engine.
#
#   bash examples/build-images.sh [--force]
#
# First the two base images, made from what this machine already has (nothing is
# pulled from an image registry):
#   containerops/busybox:1        FROM scratch + the host's static /bin/busybox
#   containerops/debian-python:1  a debootstrap'ed Debian root filesystem (python3, git,
#                                 pytest, flake8, boto3), built in .build/ and `docker import`ed
# then containerops/workspace:1 (the workspace sidecar of AWS deployments, on the Debian
# base: infra/workspace-image), one image per examples/components/<name>/, tagged with the
# spec.image of its component.yaml, and containerops/sample-source:1 (busybox + the sample
# repository, made with make-sample-repo.sh) for the cloud twin of the CI example,
# workflows/ci-cloud.yaml.
#
# Idempotent: an image is skipped when it exists and was built from the same sources
# (each image carries a digest of its build context, and a component's digest includes
# its base image's id, so editing a script or rebuilding a base rebuilds what depends
# on it). The Debian base is only rebuilt with --force: debootstrap takes a minute and
# needs root. --force rebuilds everything.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=$(cd "$HERE/.." && pwd)
BUILD_DIR="$TOP/.build"
DIGEST_LABEL=io.containerops.source-digest
BUSYBOX_IMAGE=containerops/busybox:1
DEBIAN_IMAGE=containerops/debian-python:1
SAMPLE_IMAGE=containerops/sample-source:1
WORKSPACE_IMAGE=containerops/workspace:1
FORCE=0

die() {
    echo "build-images: $*" >&2
    exit 1
}

usage() {
    sed -n '2,21s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"
}

for arg in "$@"; do
    case "$arg" in
        --force) FORCE=1 ;;
        -h | --help) usage; exit 0 ;;
        *) die "unknown argument '$arg' (usage: bash examples/build-images.sh [--force])" ;;
    esac
done

command -v docker > /dev/null 2>&1 \
    || die "docker is not installed (no 'docker' command on PATH); install Docker Engine to build the example images."
docker info > /dev/null 2>&1 \
    || die "the Docker engine does not answer ('docker info' failed): start the daemon, or run as a user allowed to use it."

mkdir -p "$BUILD_DIR/logs"

# --- helpers ---------------------------------------------------------------------------

now_ms() { date +%s%3N; }

image_exists() { docker image inspect "$1" > /dev/null 2>&1; }

image_label() {
    docker image inspect -f "{{ index .Config.Labels \"$DIGEST_LABEL\" }}" "$1" 2> /dev/null || true
}

image_size() {
    docker image inspect -f '{{ .Size }}' "$1" | awk '{ printf "%.1f MB", $1 / 1000000 }'
}

# sha256 over every file of a folder (names and contents), plus any extra words given.
source_digest() {
    local dir=$1
    shift
    {
        (cd "$dir" && find . -type f ! -name '*.pyc' ! -path '*/__pycache__/*' -print0 \
            | LC_ALL=C sort -z | xargs -0 -r sha256sum)
        printf '%s\n' "$@"
    } | sha256sum | cut -c1-64
}

# One line per image: tag, what happened, size, seconds.
report() {
    local tag=$1 status=$2 started=$3
    local elapsed
    elapsed=$(awk -v ms="$(($(now_ms) - started))" 'BEGIN { printf "%.1fs", ms / 1000 }')
    printf '%-38s %-8s %10s %8s\n' "$tag" "$status" "$(image_size "$tag")" "$elapsed"
}

image_id() { docker image inspect -f '{{ .Id }}' "$1" 2> /dev/null || true; }

# After a rebuild, delete the image the tag named before, if nothing else names or runs
# it (docker refuses then, and that is fine): rebuilds leave no dangling images.
drop_replaced() {
    local old=$1 tag=$2
    if [ -n "$old" ] && [ "$old" != "$(image_id "$tag")" ]; then
        docker rmi "$old" > /dev/null 2>&1 || true
    fi
}

# docker build with the output kept in a log, shown only when the build fails.
docker_build() {
    local tag=$1 context=$2 digest=$3
    local log old
    log="$BUILD_DIR/logs/$(echo "$tag" | tr '/:' '__').log"
    old=$(image_id "$tag")
    if ! docker build --label "$DIGEST_LABEL=$digest" -t "$tag" "$context" > "$log" 2>&1; then
        tail -n 25 "$log" >&2
        die "building $tag failed; the full log is $log"
    fi
    drop_replaced "$old" "$tag"
}

# Build unless the image exists with the same digest (and --force was not given).
# Prints the status word: exists, built or rebuilt.
needs_build() {
    local tag=$1 digest=$2
    if ! image_exists "$tag"; then
        echo built
    elif [ "$FORCE" = 1 ] || [ "$(image_label "$tag")" != "$digest" ]; then
        echo rebuilt
    else
        echo exists
    fi
}

# --- containerops/busybox:1 ------------------------------------------------------------

build_busybox() {
    local started status digest context
    started=$(now_ms)
    local busybox_bin=${BUSYBOX_BIN:-/bin/busybox}
    [ -x "$busybox_bin" ] || die "$busybox_bin not found: install the busybox-static package (apt-get install busybox-static)."
    if ! file_is_static "$busybox_bin"; then
        die "$busybox_bin is dynamically linked and cannot run FROM scratch: install busybox-static, or set BUSYBOX_BIN to a static busybox."
    fi
    context="$BUILD_DIR/context/busybox"
    rm -rf "$context"
    mkdir -p "$context"
    cp "$HERE/images/busybox/Dockerfile" "$context/"
    cp "$busybox_bin" "$context/busybox"
    digest=$(source_digest "$context")
    status=$(needs_build "$BUSYBOX_IMAGE" "$digest")
    [ "$status" = exists ] || docker_build "$BUSYBOX_IMAGE" "$context" "$digest"
    report "$BUSYBOX_IMAGE" "$status" "$started"
}

# A static binary has no program interpreter (PT_INTERP) in its ELF header. Without
# readelf or file to tell, assume it is (the build then fails on its first RUN).
file_is_static() {
    if command -v readelf > /dev/null 2>&1; then
        LC_ALL=C readelf -h "$1" > /dev/null 2>&1 \
            && ! LC_ALL=C readelf -l "$1" 2> /dev/null | grep -q 'program interpreter'
    elif command -v file > /dev/null 2>&1; then
        LC_ALL=C file -L "$1" | grep -q 'statically linked'
    fi
}

# --- containerops/debian-python:1 ------------------------------------------------------

build_debian_python() {
    local started status rootfs marker digest
    started=$(now_ms)
    digest=$(source_digest "$HERE/images/debian-python")
    if image_exists "$DEBIAN_IMAGE" && [ "$FORCE" = 0 ]; then
        if [ "$(image_label "$DEBIAN_IMAGE")" != "$digest" ]; then
            echo "note: $DEBIAN_IMAGE predates the current images/debian-python/; run with --force to rebuild it" >&2
        fi
        report "$DEBIAN_IMAGE" exists "$started"
        return
    fi
    status=$(image_exists "$DEBIAN_IMAGE" && echo rebuilt || echo built)

    rootfs="$BUILD_DIR/debian-python-rootfs"
    marker="$rootfs.done"
    # A finished root filesystem from the same build script is reused (unless --force),
    # so a deleted image comes back in seconds.
    if [ "$FORCE" = 1 ] || [ ! -f "$marker" ] || [ "$(cat "$marker")" != "$digest" ]; then
        [ "$(id -u)" = 0 ] || die "building $DEBIAN_IMAGE needs root (debootstrap chroots into $rootfs): run this script as root, e.g. with sudo."
        command -v debootstrap > /dev/null 2>&1 || die "debootstrap is not installed (apt-get install debootstrap); it builds the root filesystem of $DEBIAN_IMAGE."
        rm -f "$marker"
        local log="$BUILD_DIR/logs/debian-python-rootfs.log"
        echo "debootstrap: building the Debian root filesystem in $rootfs (about a minute)" >&2
        if ! sh "$HERE/images/debian-python/build-rootfs.sh" "$rootfs" > "$log" 2>&1; then
            tail -n 25 "$log" >&2
            die "debootstrap of $DEBIAN_IMAGE failed; the full log is $log"
        fi
        echo "$digest" > "$marker"
    fi

    [ "$(id -u)" = 0 ] || die "importing $DEBIAN_IMAGE needs root to read every file of $rootfs: run this script as root."
    local old
    old=$(image_id "$DEBIAN_IMAGE")
    tar --numeric-owner --exclude='./dev/*' --exclude='./proc/*' --exclude='./sys/*' \
        -C "$rootfs" -c . \
        | docker import \
            --change "LABEL $DIGEST_LABEL=$digest" \
            --change 'ENV HOME=/tmp' \
            --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
            --change 'ENV LANG=C.UTF-8' \
            --change 'ENV PYTHONDONTWRITEBYTECODE=1' \
            --change 'USER 1000:1000' \
            --change 'WORKDIR /workspace' \
            --change 'CMD ["/bin/bash"]' \
            - "$DEBIAN_IMAGE" > /dev/null
    drop_replaced "$old" "$DEBIAN_IMAGE"
    report "$DEBIAN_IMAGE" "$status" "$started"
}

# --- components ------------------------------------------------------------------------

# spec.image of a component.yaml (the first "image:" key, quotes removed).
component_image() {
    sed -n 's/^[[:space:]]*image:[[:space:]]*//p' "$1" | head -n 1 | tr -d "\"'" | sed 's/[[:space:]]*#.*//; s/[[:space:]]*$//'
}

# The image named by the FROM line of a Dockerfile.
base_image() {
    awk 'toupper($1) == "FROM" { print $2; exit }' "$1"
}

build_component() {
    local dir=$1 started tag base base_id digest status
    started=$(now_ms)
    [ -f "$dir/component.yaml" ] || die "$dir has no component.yaml"
    [ -f "$dir/Dockerfile" ] || die "$dir has no Dockerfile"
    tag=$(component_image "$dir/component.yaml")
    [ -n "$tag" ] || die "$dir/component.yaml has no spec.image"
    base=$(base_image "$dir/Dockerfile")
    base_id=$(image_id "$base")
    [ -n "$base_id" ] \
        || die "$dir/Dockerfile is FROM $base, which is not built here (use $BUSYBOX_IMAGE or $DEBIAN_IMAGE)"
    digest=$(source_digest "$dir" "$base_id")
    status=$(needs_build "$tag" "$digest")
    [ "$status" = exists ] || docker_build "$tag" "$dir" "$digest"
    report "$tag" "$status" "$started"
}

# --- containerops/sample-source:1 -----------------------------------------------------

# The sample repository travels in this image (examples/workflows/ci-cloud.yaml: a job on
# AWS has no host folder to mount). make-sample-repo.sh commits reproducibly, so the same
# project files give the same repository, the same digest and no rebuild.
build_sample_source() {
    local started status digest context
    started=$(now_ms)
    context="$BUILD_DIR/context/sample-source"
    rm -rf "$context"
    mkdir -p "$context"
    cp "$HERE/images/sample-source/Dockerfile" "$HERE/images/sample-source/co-sample-source" "$context/"
    bash "$HERE/make-sample-repo.sh" "$context/sample.git" > /dev/null \
        || die "making the sample repository for $SAMPLE_IMAGE failed"
    digest=$(source_digest "$context" "$(image_id "$BUSYBOX_IMAGE")")
    status=$(needs_build "$SAMPLE_IMAGE" "$digest")
    [ "$status" = exists ] || docker_build "$SAMPLE_IMAGE" "$context" "$digest"
    report "$SAMPLE_IMAGE" "$status" "$started"
}

# --- containerops/workspace:1 -----------------------------------------------------------

# The workspace sidecar of AWS deployments (infra/workspace-image/Dockerfile): the modules it
# imports, copied into a context of their own, on the Debian base.
build_workspace_sidecar() {
    local started status digest context top
    started=$(now_ms)
    top=$TOP
    context="$BUILD_DIR/context/workspace"
    rm -rf "$context"
    mkdir -p "$context/chalicelib/aws"
    cp "$top/infra/workspace-image/Dockerfile" "$context/"
    cp "$top/chalicelib/__init__.py" "$top/chalicelib/errors.py" "$context/chalicelib/"
    cp -r "$top/chalicelib/workspace" "$context/chalicelib/"
    cp "$top/chalicelib/aws/__init__.py" "$top/chalicelib/aws/workspace_layers.py" "$context/chalicelib/aws/"
    find "$context" -name __pycache__ -prune -exec rm -rf {} +
    digest=$(source_digest "$context" "$(image_id "$DEBIAN_IMAGE")")
    status=$(needs_build "$WORKSPACE_IMAGE" "$digest")
    [ "$status" = exists ] || docker_build "$WORKSPACE_IMAGE" "$context" "$digest"
    report "$WORKSPACE_IMAGE" "$status" "$started"
}

build_busybox
build_debian_python
build_workspace_sidecar
shopt -s nullglob
for component in "$HERE"/components/*/; do
    build_component "${component%/}"
done
build_sample_source
