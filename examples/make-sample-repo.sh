#!/usr/bin/env bash
# Make a bare git repository at DEST holding examples/sample-project on branch main.
#
#   bash examples/make-sample-repo.sh DEST        (e.g. .build/sample.git)
#
# The commit has a fixed author, committer and date, and the host's git configuration is
# ignored, so the commit sha is the same on every machine for the same project files.
# DEST is made world-readable: jobs run as uid 1000 and mount it read-only at /repo.git.
# Running it again on an existing bare repository just moves main to that commit.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PROJECT="$HERE/sample-project"

die() {
    echo "make-sample-repo: $*" >&2
    exit 1
}

[ $# -eq 1 ] || die "usage: bash examples/make-sample-repo.sh DEST (the bare repository to create, e.g. .build/sample.git)"
DEST=$1
command -v git > /dev/null 2>&1 || die "git is not installed; it is needed to build the sample repository."
[ -d "$PROJECT" ] || die "$PROJECT is missing."

# Neither ~/.gitconfig nor /etc/gitconfig may change the commit (signing, autocrlf, hooks).
export GIT_CONFIG_GLOBAL=/dev/null GIT_CONFIG_NOSYSTEM=1
export GIT_AUTHOR_NAME="ContainerOps Examples" GIT_AUTHOR_EMAIL="examples@containerops.invalid"
export GIT_COMMITTER_NAME="$GIT_AUTHOR_NAME" GIT_COMMITTER_EMAIL="$GIT_AUTHOR_EMAIL"
export GIT_AUTHOR_DATE="2024-01-01T00:00:00+0000" GIT_COMMITTER_DATE="2024-01-01T00:00:00+0000"

if [ -e "$DEST" ]; then
    if [ "$(git -C "$DEST" rev-parse --is-bare-repository 2> /dev/null)" != true ]; then
        [ -d "$DEST" ] && [ -z "$(ls -A "$DEST")" ] \
            || die "$DEST exists and is not a bare git repository; choose another path or remove it."
        git init --quiet --bare --initial-branch=main "$DEST"
    fi
else
    mkdir -p "$(dirname "$DEST")"
    git init --quiet --bare --initial-branch=main "$DEST"
fi
DEST=$(cd "$DEST" && pwd)

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

# Copy the project without caches a local test run may have left behind.
tar -C "$PROJECT" --exclude=__pycache__ --exclude=.pytest_cache --exclude='*.pyc' -c . \
    | tar -C "$WORK" -x
git -C "$WORK" init --quiet --initial-branch=main
git -C "$WORK" add --all
git -C "$WORK" commit --quiet --no-verify -m "semverlite: parse, compare and bump versions"
git -C "$WORK" push --quiet --force "$DEST" main:main
git -C "$DEST" symbolic-ref HEAD refs/heads/main

chmod -R a+rX "$DEST"
echo "sample repository: $DEST"
echo "branch main at commit $(git -C "$DEST" rev-parse main)"
