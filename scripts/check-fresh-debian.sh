#!/usr/bin/env bash
# Runs the README's commands on a fresh, minimal Debian 12 (a debootstrap
# --variant=minbase chroot, close to the debian:bookworm container image) to
# check that the project's scripts install everything they need.
#
#   scripts/check-fresh-debian.sh [DIR] [COMMAND...]
#       DIR      the chroot (default /tmp/cachet-fresh; created when missing)
#       COMMAND  what to run in a copy of HEAD (default: ./examples/run && ./tests/run)
#
# Needs root, debootstrap (installed when missing) and the Debian mirror.
# Copies the committed tree (git archive HEAD), not uncommitted changes.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
dir="${1:-/tmp/cachet-fresh}"
[ $# -gt 0 ] && shift
cmd="${*:-./examples/run && ./tests/run}"
[ "$(id -u)" -eq 0 ] || { echo "check-fresh-debian: needs root" >&2; exit 1; }

if ! command -v debootstrap >/dev/null 2>&1; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
fi
if [ ! -x "$dir/bin/bash" ]; then
  debootstrap --variant=minbase bookworm "$dir" http://deb.debian.org/debian
fi
cp /etc/resolv.conf "$dir/etc/resolv.conf"
rm -rf "$dir/root/cachet" && mkdir -p "$dir/root/cachet"
git -C "$root" archive HEAD | tar -x -C "$dir/root/cachet"
mountpoint -q "$dir/proc" || mount -t proc proc "$dir/proc"
trap 'umount "$dir/proc" 2>/dev/null || true' EXIT
chroot "$dir" /usr/bin/env -i HOME=/root PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  bash -c "cd /root/cachet && $cmd"
