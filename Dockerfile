# tailgate as a container: for CI systems other than GitHub Actions, for
# `docker run`, and for a workflow's `container:` or `uses: docker://` step.
#
# The GitHub Action itself (action.yml) is a composite action that runs the release
# binary on the runner, so that it reaches services on the runner's 127.0.0.1 and the
# repository's own toolchain. The image workflow (.github/workflows/image.yml)
# publishes this image as ghcr.io/tailgate-dev/tailgate:vX.Y.Z; scripts/check-image.sh
# builds it in CI where podman or docker can.
#
# The image runs as root, the default: GitHub runs Docker actions and job
# containers as root and mounts the workspace owned by the runner's user, and
# Docker's docs say such actions must not set USER, or they cannot write
# GITHUB_WORKSPACE (where `tailgate run` writes tailgate-out/). Elsewhere, run it as
# any user: `docker run --user "$(id -u)" -v "$PWD:/work" -w /work ...`.

# --- build ---------------------------------------------------------------------
FROM rust:1.95.0-slim-bookworm AS build
WORKDIR /src
# Dependencies first, so a source change does not rebuild them.
COPY Cargo.toml Cargo.lock ./
RUN mkdir src \
    && echo 'fn main() {}' > src/main.rs \
    && touch src/lib.rs \
    && cargo build --release --locked \
    && rm -rf src
COPY src ./src
COPY templates ./templates
RUN touch src/main.rs src/lib.rs \
    && cargo build --release --locked \
    && cp target/release/tailgate /usr/local/bin/tailgate

# --- run -----------------------------------------------------------------------
FROM debian:12.11-slim
# CA certificates for HTTPS (rustls reads the system store); git to read the gate's
# config at the base commit and for the `local` deployer's worktrees.
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates=20230311+deb12u1 git=1:2.39.5-0+deb12u3 \
    && rm -rf /var/lib/apt/lists/* \
    && git config --system --add safe.directory '*'
COPY --from=build /usr/local/bin/tailgate /usr/local/bin/tailgate
# GitHub mounts the workspace at /github/workspace and makes it the working
# directory. No USER: see the top of this file.
ENTRYPOINT ["/usr/local/bin/tailgate"]
