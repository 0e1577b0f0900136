# tailgate as a GitHub Docker action (and a plain container).
#
# The release workflow builds this image and publishes it as
# ghcr.io/tailgate-dev/tailgate:vX.Y.Z; action.yml runs that image, so a gate starts
# in seconds instead of compiling Rust on every pull request. Forks and air-gapped
# runners build it themselves: see docs/github.md ("Building the image yourself").

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
    && useradd --create-home --uid 10001 --shell /usr/sbin/nologin tailgate \
    && git config --system --add safe.directory '*'
COPY --from=build /usr/local/bin/tailgate /usr/local/bin/tailgate
# The runner mounts the workspace at /github/workspace and makes it the working
# directory; it also runs Docker actions as root unless the image says otherwise.
USER 10001:10001
ENTRYPOINT ["/usr/local/bin/tailgate"]
