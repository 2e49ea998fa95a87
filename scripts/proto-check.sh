#!/usr/bin/env bash
# Fails when the checked-in generated code differs from what proto/ generates now.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/proto-generate.sh >/dev/null
if ! git diff --exit-code --stat -- packages/contracts/src/gen || [ -n "$(git status --porcelain -- packages/contracts/src/gen)" ]; then
  echo "proto:check: packages/contracts/src/gen is stale; run 'npm run proto:generate' and commit the result" >&2
  exit 1
fi
echo "proto:check: generated code is up to date"
