#!/usr/bin/env bash
# The comment as a reviewer sees it: install Chromium, cmark-gfm and an emoji font
# (Debian) and the pinned mermaid + playwright-core (npm ci in scripts/render), then
# render the demo's comment in headless Chromium and check it in the DOM (scripts/render-comment.sh).
# Idempotent: apt is skipped when both are installed, npm ci when node_modules
# is newer than the lock. The screenshot stays as an artifact: tailgate-out/render/comment.png.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v cmark-gfm >/dev/null 2>&1 || missing+=(cmark-gfm)
# Emoji carry the verdict (✅ ❌ ⚠️): without a font they are boxes in the PNG.
[ -f /usr/share/fonts/truetype/noto/NotoColorEmoji.ttf ] || missing+=(fonts-noto-color-emoji)
if [ ${#missing[@]} -gt 0 ]; then
  echo "render-check: installing ${missing[*]} (apt)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
echo "render-check: $(chromium --version 2>/dev/null | head -n1); cmark-gfm $(cmark-gfm --version | head -n1 | awk '{print $2}')"

lock=scripts/render/package-lock.json
stamp=scripts/render/node_modules/.package-lock.json
if [ ! -f "$stamp" ] || [ "$lock" -nt "$stamp" ]; then
  echo "render-check: npm ci (scripts/render)"
  (cd scripts/render && npm ci --no-audit --no-fund --loglevel=error)
fi

bash scripts/render-comment.sh
echo "render-check: passed; screenshot tailgate-out/render/comment.png"
