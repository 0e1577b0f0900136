#!/usr/bin/env bash
# Check that every `INPUT_*` variable the binary or the action's install script
# reads is declared as an input in action.yml, and that every declared input is
# read by one of them.
#
# action.yml's steps pass input `foo_bar` as `INPUT_FOO_BAR` (upper case, spaces to
# `_`), as the runner does for Docker actions. Inputs are read in src/ as string
# literals "INPUT_...", and in scripts/action/ as `$INPUT_...` / `${INPUT_...`.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
action="$root/action.yml"

declared="$(
  awk '
    /^[^[:space:]#][^:]*:/ { section = $1 }
    section == "inputs:" && /^  [A-Za-z0-9_ -]+:[[:space:]]*$/ {
      name = $0
      sub(/^  /, "", name)
      sub(/:[[:space:]]*$/, "", name)
      gsub(/ /, "_", name)
      print "INPUT_" toupper(name)
    }
  ' "$action" | sort -u
)"

read_by_binary="$(
  {
    grep -rhoE '"INPUT_[A-Za-z0-9_-]+"' "$root/src" | tr -d '"'
    grep -rhoE '\$\{?INPUT_[A-Z0-9_]+' "$root/scripts/action" | tr -d '${'
  } | sort -u
)"

if [[ -z "$declared" ]]; then
  echo "check-action-inputs: no inputs found in $action" >&2
  exit 1
fi

status=0
undeclared="$(comm -13 <(echo "$declared") <(echo "$read_by_binary"))"
unread="$(comm -23 <(echo "$declared") <(echo "$read_by_binary"))"
if [[ -n "$undeclared" ]]; then
  echo "check-action-inputs: read by the binary or scripts/action but not declared in action.yml:" >&2
  echo "$undeclared" | sed 's/^/  /' >&2
  status=1
fi
if [[ -n "$unread" ]]; then
  echo "check-action-inputs: declared in action.yml but never read by the binary or scripts/action:" >&2
  echo "$unread" | sed 's/^/  /' >&2
  status=1
fi
if [[ $status -eq 0 ]]; then
  echo "check-action-inputs: $(echo "$declared" | wc -l | tr -d ' ') inputs, all declared and read"
fi
exit $status
