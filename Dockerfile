# syntax=docker/dockerfile:1.7
#
# perf-fixer image: one binary for `serve`, `worker`, `migrate`, `compare`, `fix` and `demo`.
#
#   docker build -t perf-fixer .
#   docker run --rm perf-fixer --help
#
# Workers build, test and benchmark the crates of the repositories they fix, so the runtime
# image carries a C toolchain, git, bubblewrap (the sandbox), valgrind and perf (profilers),
# and a Rust toolchain managed by rustup, so that a repository's `rust-toolchain.toml` is
# honoured. See deploy/README.md for what bubblewrap and perf need from the container runtime.

ARG RUST_VERSION=1.95
ARG DEBIAN_RELEASE=bookworm

############################################################################################
# Builder: compiles `perf-fixer` in release mode.
############################################################################################
FROM rust:${RUST_VERSION}-${DEBIAN_RELEASE} AS builder

WORKDIR /src

# sqlx must not try to reach a database while compiling.
ENV SQLX_OFFLINE=true \
    CARGO_TERM_COLOR=never

# Layer order for fast rebuilds: the toolchain image, then the sources, then one build step.
# The cargo registry and the target directory are BuildKit cache mounts, so a rebuild after
# a source change downloads nothing and recompiles only the workspace crates, while the
# image itself keeps no build cache (the binary is copied out of the cache to /out).
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry,sharing=locked \
    --mount=type=cache,target=/usr/local/cargo/git,sharing=locked \
    --mount=type=cache,target=/src/target,sharing=locked \
    cargo build --release --locked -p perf-fixer \
 && install -D -m 0755 target/release/perf-fixer /out/perf-fixer

############################################################################################
# Runtime
############################################################################################
FROM debian:${DEBIAN_RELEASE}-slim AS runtime

ARG RUST_VERSION
# The toolchain preinstalled for users' crates; a repository's rust-toolchain.toml may
# ask for another, which rustup installs on first use (the worker needs network for that).
ARG USER_RUST_TOOLCHAIN=${RUST_VERSION}
# Extra Debian packages some users' crates need to build (for example "cmake libclang-dev").
ARG EXTRA_APT_PACKAGES=""

# git: fetch and worktrees. bubblewrap: the sandbox for repository commands. valgrind and
# linux-perf: profilers (callgrind where perf is not allowed). build-essential, pkg-config,
# libssl-dev: users' crates compile C and link OpenSSL. tini: PID 1 that forwards SIGTERM to
# perf-fixer (graceful shutdown) and reaps orphaned build processes.
# Versions come from the pinned Debian release; pinning each package would break on every
# Debian point release.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
        bubblewrap \
        build-essential \
        ca-certificates \
        git \
        libssl3 \
        libssl-dev \
        linux-perf \
        pkg-config \
        tini \
        valgrind \
        ${EXTRA_APT_PACKAGES} \
 && rm -rf /var/lib/apt/lists/*

# A fixed uid/gid so that volumes and Kubernetes' runAsUser agree with the image.
ARG PERF_FIXER_UID=10001
RUN groupadd --system --gid ${PERF_FIXER_UID} perf-fixer \
 && useradd --system --uid ${PERF_FIXER_UID} --gid perf-fixer \
        --home-dir /home/perf-fixer --create-home --shell /bin/bash perf-fixer \
 && install -d -o perf-fixer -g perf-fixer -m 0750 /var/lib/perf-fixer

# rustup for the non-root user. The rustup binary of the builder image doubles as
# rustup-init when invoked under that name, so nothing is downloaded by hand here.
COPY --from=builder /usr/local/cargo/bin/rustup /usr/local/bin/rustup-init
ENV HOME=/home/perf-fixer \
    RUSTUP_HOME=/home/perf-fixer/.rustup \
    CARGO_HOME=/home/perf-fixer/.cargo \
    RUSTUP_AUTO_INSTALL=1 \
    PATH=/home/perf-fixer/.cargo/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
USER ${PERF_FIXER_UID}:${PERF_FIXER_UID}
RUN rustup-init -y --no-modify-path --profile minimal --default-toolchain "${USER_RUST_TOOLCHAIN}" \
 && rustc --version && cargo --version
USER 0:0
RUN rm /usr/local/bin/rustup-init

COPY --from=builder /out/perf-fixer /usr/local/bin/perf-fixer
COPY deploy/docker/healthcheck /usr/local/bin/perf-fixer-healthcheck

# Service defaults for a container: listen on every interface, keep clones and build
# caches in the workdir volume, sandbox repository commands with bubblewrap.
ENV PERF_FIXER_LISTEN=0.0.0.0:8080 \
    PERF_FIXER_WORKDIR=/var/lib/perf-fixer \
    PERF_FIXER_SANDBOX=bwrap \
    RUST_LOG=info

USER ${PERF_FIXER_UID}:${PERF_FIXER_UID}
WORKDIR /var/lib/perf-fixer
VOLUME ["/var/lib/perf-fixer"]
EXPOSE 8080

# Meaningful for `serve` only; docker-compose.yml disables it for workers.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["/usr/local/bin/perf-fixer-healthcheck"]

STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/bin/tini", "--", "perf-fixer"]
CMD ["serve"]
