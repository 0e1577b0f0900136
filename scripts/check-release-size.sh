#!/usr/bin/env bash
# The release binary stays small enough to download on every runner without a cache
# hit (issue 26: 237 MB with line tables, 31.6 MB stripped).
#
#   scripts/check-release-size.sh            check Cargo.toml's [profile.release]
#                                            strips the binary (no build needed)
#   scripts/check-release-size.sh BINARY     also check BINARY (a release-profile
#                                            build) is stripped and under the limit
#
# The limit is TAILGATE_MAX_BINARY_BYTES (default 40 MB = 40,000,000 bytes), the
# same one scripts/action/install.sh applies to the downloaded asset.
set -euo pipefail
cd "$(dirname "$0")/.."

max="${TAILGATE_MAX_BINARY_BYTES:-40000000}"
fail() {
  echo "check-release-size: $*" >&2
  exit 1
}

# The [profile.release] table itself, not the per-package tables after it.
profile="$(awk '/^\[profile\.release\]/ { p = 1; next } /^\[/ { p = 0 } p' Cargo.toml)"
grep -Eq '^strip *= *(true|"symbols")' <<<"$profile" ||
  fail "Cargo.toml [profile.release] must have strip = true (the release asset would carry its debug info and symbols)"
grep -Eq '^debug *= *(false|0|"none")' <<<"$profile" ||
  fail "Cargo.toml [profile.release] must have debug = false"
echo "check-release-size: [profile.release] has debug = false, strip = true"

if [[ $# -ge 1 ]]; then
  bin="$1"
  [[ -f "$bin" ]] || fail "$bin does not exist"
  size="$(wc -c <"$bin" | tr -d ' ')"
  if command -v file >/dev/null 2>&1 && file "$bin" | grep -q "with debug_info"; then
    fail "$bin carries debug info ($size bytes): build it with the release profile"
  fi
  ((size <= max)) || fail "$bin is $size bytes, over the limit of $max bytes"
  echo "check-release-size: $bin is $size bytes (limit $max)"
fi
