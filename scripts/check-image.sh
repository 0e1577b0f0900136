#!/usr/bin/env bash
# Build and run the container image from Dockerfile where this machine can build
# images; otherwise say plainly that the check was skipped and why.
#
# The Dockerfile's bases (rust:*, debian:*) come from Docker Hub, which a CI machine
# without registry access cannot pull: then the build is skipped, not faked.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

engine=""
for candidate in podman docker; do
  if command -v "$candidate" >/dev/null 2>&1 && timeout 20 "$candidate" info >/dev/null 2>&1; then
    engine="$candidate"
    break
  fi
done
if [[ -z "$engine" ]]; then
  echo "check-image: skipped: no podman or docker engine that answers on this machine (the docker CLI alone cannot build)"
  exit 0
fi
if ! timeout 60 "$engine" pull --quiet debian:12.11-slim >/dev/null 2>&1; then
  echo "check-image: skipped: $engine cannot pull the Dockerfile's base images (no registry reachable)"
  exit 0
fi
tag="tailgate:check-$$"
timeout 1800 "$engine" build --tag "$tag" .
version="$("$engine" run --rm "$tag" --version)"
echo "check-image: $version"
[[ "$version" == "tailgate $(awk -F'"' '/^version *=/ { print $2; exit }' Cargo.toml)" ]]
"$engine" rmi "$tag" >/dev/null 2>&1 || true
echo "check-image: built and ran the image with $engine"
