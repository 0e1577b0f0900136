#!/usr/bin/env bash
# Install the tailgate binary for the composite action (action.yml), on the runner.
#
#   install.sh plan     decide version, target and install folder; write them to
#                       $GITHUB_OUTPUT (the cache step between the two uses them)
#   install.sh install  download the release asset of the action's own ref, verify
#                       it against its published SHA-256, unpack it (or use the copy
#                       actions/cache restored, checked again), or build from source;
#                       put the folder on $GITHUB_PATH
#
# Environment (set by action.yml from the runner's context):
#   TAILGATE_ACTION_PATH        the action's checkout (github.action_path)
#   TAILGATE_ACTION_REF         the ref the workflow named (github.action_ref): v0.1.0,
#                               the moving v0, or a full commit sha
#   TAILGATE_ACTION_REPOSITORY  owner/name of the action (github.action_repository)
#   INPUT_BUILD_FROM_SOURCE     true: `cargo install --locked --path` of the checkout
#   TAILGATE_RELEASE_URL        where release assets live, `<url>/v<version>/<asset>`
#                               (default: $GITHUB_SERVER_URL/<repo>/releases/download);
#                               for mirrors on GitHub Enterprise or air-gapped runners
#   RUNNER_OS, RUNNER_ARCH, RUNNER_TOOL_CACHE, RUNNER_TEMP, GITHUB_OUTPUT, GITHUB_PATH
#
# Exit status: 0 installed; 1 it could not be (the message says why and what to do).
set -euo pipefail

fail() {
  # One line in the log and an annotation on the run.
  echo "::error title=tailgate install::$*"
  echo "tailgate install: $*" >&2
  exit 1
}

say() { echo "tailgate install: $*"; }

action_path="${TAILGATE_ACTION_PATH:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
action_ref="${TAILGATE_ACTION_REF:-}"
repository="${TAILGATE_ACTION_REPOSITORY:-tailgate-dev/tailgate}"
from_source="$(echo "${INPUT_BUILD_FROM_SOURCE:-false}" | tr '[:upper:]' '[:lower:]')"
case "$from_source" in
  true | yes | 1) from_source=true ;;
  false | no | 0 | "") from_source=false ;;
  *) fail "build_from_source is '${INPUT_BUILD_FROM_SOURCE}'; write true or false" ;;
esac

# The version of the checkout the runner fetched for the action's ref.
version="$(awk -F'"' '/^\[package\]/ { p = 1; next } /^\[/ { p = 0 } p && /^version *=/ { print $2; exit }' "$action_path/Cargo.toml" 2>/dev/null || true)"
[[ -n "$version" ]] || fail "cannot read the version from $action_path/Cargo.toml"

target_of_runner() {
  local os="${RUNNER_OS:-$(uname -s)}" arch="${RUNNER_ARCH:-$(uname -m)}"
  case "$os/$arch" in
    Linux/X64 | Linux/x86_64) echo x86_64-unknown-linux-musl ;;
    Linux/ARM64 | Linux/aarch64 | Linux/arm64) echo aarch64-unknown-linux-musl ;;
    macOS/ARM64 | Darwin/arm64) echo aarch64-apple-darwin ;;
    macOS/X64 | Darwin/x86_64) echo x86_64-apple-darwin ;;
    *) return 1 ;;
  esac
}

work="" # the download folder, removed on exit
tools="${RUNNER_TOOL_CACHE:-${RUNNER_TEMP:-${TMPDIR:-/tmp}}}"

plan() {
  local target dir key
  if [[ "$from_source" == true ]]; then
    target="source"
  else
    target="$(target_of_runner)" || fail "no tailgate release for ${RUNNER_OS:-?}/${RUNNER_ARCH:-?} (Linux and macOS on X64 and ARM64 have one); set build_from_source: true"
    # Release assets exist for version tags: v1, v1.2 (moving tags) or the exact
    # v1.2.3. A full commit sha (GitHub's hardening guide: pin third-party actions
    # by sha) gets the release of the version its checkout's Cargo.toml names,
    # verified by that release's SHA-256 like any other. A branch may hold
    # unreleased code: no binary for it.
    if [[ "$action_ref" =~ ^[0-9a-fA-F]{40}$ ]]; then
      say "the action is pinned to commit $action_ref; its Cargo.toml says version $version: installing the release v$version (if this commit is not that release's, set build_from_source: true to run its own code)"
    elif [[ ! "$action_ref" =~ ^v[0-9]+(\.[0-9]+){0,2}$ ]]; then
      fail "the action's ref '${action_ref:-(none: a local action)}' is not a release tag or a full commit sha, so there is no release binary of its code; use tailgate@v$version (or its commit sha), or set build_from_source: true (needs a Rust toolchain on the runner)"
    fi
    if [[ "$action_ref" =~ ^v[0-9]+\.[0-9]+\.[0-9]+$ && "$action_ref" != "v$version" ]]; then
      fail "the action's ref is $action_ref but its Cargo.toml says $version; the tag and the package version must agree"
    fi
  fi
  dir="$tools/tailgate/$version/$target"
  key="tailgate-$version-$target"
  {
    echo "version=$version"
    echo "target=$target"
    echo "dir=$dir"
    echo "cache_key=$key"
    echo "from_source=$from_source"
  } >>"${GITHUB_OUTPUT:-/dev/null}"
  say "tailgate $version for $target into $dir"
}

sha256_of() {
  if command -v sha256sum >/dev/null 2>&1; then
    sha256sum "$1" | awk '{ print $1 }'
  else
    shasum -a 256 "$1" | awk '{ print $1 }'
  fi
}

download() {
  # download URL FILE
  curl --fail --silent --show-error --location --retry 3 --retry-delay 2 \
    --connect-timeout 20 --max-time 300 --output "$2" "$1"
}

on_path() {
  "$1/tailgate" --version >/dev/null 2>&1 || fail "$1/tailgate does not run on this runner"
  say "$("$1/tailgate" --version) at $1/tailgate"
  if [[ -n "${GITHUB_PATH:-}" ]]; then
    echo "$1" >>"$GITHUB_PATH"
  fi
  echo "path=$1/tailgate" >>"${GITHUB_OUTPUT:-/dev/null}"
}

install_from_source() {
  local root="$tools/tailgate/$version/source"
  command -v cargo >/dev/null 2>&1 ||
    fail "build_from_source needs cargo on the runner; add a Rust toolchain step (e.g. dtolnay/rust-toolchain@stable) before tailgate"
  say "building tailgate $version from $action_path (cargo install --locked)"
  cargo install --locked --path "$action_path" --root "$root" --bin tailgate ||
    fail "cargo install of $action_path failed (see above)"
  on_path "$root/bin"
}

install_release() {
  local target dir asset base url expected actual named size max
  target="$(target_of_runner)" || fail "no tailgate release for ${RUNNER_OS:-?}/${RUNNER_ARCH:-?}; set build_from_source: true"
  dir="$tools/tailgate/$version/$target"
  asset="tailgate-v$version-$target.tar.gz"

  # A copy restored by actions/cache is used only if it is still the binary that
  # was verified when it was installed.
  if [[ -x "$dir/tailgate" && -f "$dir/tailgate.sha256" ]]; then
    if [[ "$(sha256_of "$dir/tailgate")" == "$(cat "$dir/tailgate.sha256")" ]]; then
      say "using the cached, verified tailgate $version"
      if [[ "$action_ref" =~ ^[0-9a-fA-F]{40}$ ]]; then
        say "installed release v$version (cached) for the action's commit $action_ref"
      fi
      on_path "$dir"
      return
    fi
    say "the cached binary does not match its recorded checksum: downloading again"
    rm -rf "$dir"
  fi

  base="${TAILGATE_RELEASE_URL:-${GITHUB_SERVER_URL:-https://github.com}/$repository/releases/download}"
  url="${base%/}/v$version/$asset"
  work="$(mktemp -d "${RUNNER_TEMP:-${TMPDIR:-/tmp}}/tailgate-install.XXXXXX")"
  trap 'rm -rf "${work:-}"' EXIT
  say "downloading $url"
  download "$url.sha256" "$work/$asset.sha256" ||
    fail "cannot download the checksum $url.sha256; is v$version released with assets for $target? For forks and unreleased refs set build_from_source: true"
  download "$url" "$work/$asset" ||
    fail "cannot download $url; is v$version released with assets for $target? For forks and unreleased refs set build_from_source: true"

  expected="$(awk 'NR == 1 { print tolower($1) }' "$work/$asset.sha256")"
  [[ "$expected" =~ ^[0-9a-f]{64}$ ]] ||
    fail "$asset.sha256 does not hold a SHA-256 checksum; refusing to install"
  # `<hex>  <asset>` (sha256sum's format; `*` marks binary mode): the checksum of
  # this very asset, not of another file of the release.
  named="$(awk 'NR == 1 { sub(/^\*/, "", $2); print $2 }' "$work/$asset.sha256")"
  if [[ -n "$named" && "$named" != "$asset" ]]; then
    fail "$asset.sha256 is the checksum of '$named', not of $asset; refusing to install"
  fi
  # Release assets are stripped binaries, well under the limit (31.6 MB for Linux
  # x86_64, 12.4 MB gzipped); an asset over it is not the one the release built.
  size="$(wc -c <"$work/$asset" | tr -d ' ')"
  max="${TAILGATE_MAX_ASSET_BYTES:-40000000}"
  if ((size > max)); then
    fail "$asset is $size bytes, over the $max bytes a stripped release asset stays under; refusing to install"
  fi
  say "$asset: $size bytes"
  actual="$(sha256_of "$work/$asset")"
  if [[ "$actual" != "$expected" ]]; then
    fail "checksum mismatch for $asset: expected $expected, got $actual; refusing to install it (a corrupted or tampered download)"
  fi
  say "checksum verified: sha256 $actual"
  if [[ "$action_ref" =~ ^[0-9a-fA-F]{40}$ ]]; then
    say "installed release v$version ($asset) for the action's commit $action_ref"
  fi

  mkdir -p "$work/unpacked"
  tar -xzf "$work/$asset" -C "$work/unpacked" || fail "cannot unpack $asset"
  [[ -f "$work/unpacked/tailgate" ]] || fail "$asset has no tailgate binary at its top level"
  mkdir -p "$dir"
  install -m 0755 "$work/unpacked/tailgate" "$dir/tailgate"
  sha256_of "$dir/tailgate" >"$dir/tailgate.sha256"
  on_path "$dir"
}

case "${1:-}" in
  plan) plan ;;
  install)
    if [[ "$from_source" == true ]]; then install_from_source; else install_release; fi
    ;;
  *)
    echo "usage: $0 plan|install" >&2
    exit 2
    ;;
esac
