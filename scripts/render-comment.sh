#!/usr/bin/env bash
# Render the demo's PR comment as GitHub does and check it in a real browser:
# cmark-gfm (GFM tables, strikethrough, autolink, tagfilter) + mermaid 11 (from
# scripts/render/node_modules, no network) in headless Chromium at 900 px. Checks in
# the DOM that the verdict heading is in the first 200 px, that the chart has a
# legend and its series do not overlap, and that no table cell wraps a `[…]`
# interval away from its number. Screenshot: tailgate-out/render/comment.png.
#
# usage: scripts/render-comment.sh [COMMENT.md]   (default: run `tailgate demo`)
# Needs chromium, cmark-gfm and `npm ci` in scripts/render (.ci/render-check.sh
# installs them).
set -euo pipefail
cd "$(dirname "$0")/.."

out=tailgate-out/render
mkdir -p "$out"
if [ $# -ge 1 ]; then
  comment=$1
else
  echo "render-comment: running the demo"
  cargo run --locked --quiet -- demo --out "$out/demo" >"$out/demo.log" 2>&1 || {
    cat "$out/demo.log" >&2
    echo "render-comment: the demo failed" >&2
    exit 1
  }
  comment=$out/demo/report.md
fi
node scripts/render/render.mjs "$comment" "$out"
