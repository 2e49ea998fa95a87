#!/usr/bin/env bash
# Regenerates packages/contracts/src/gen from proto/ with buf + the local ts-proto plugin.
set -euo pipefail
cd "$(dirname "$0")/../proto"
rm -rf ../packages/contracts/src/gen
../node_modules/.bin/buf lint
../node_modules/.bin/buf generate
# ts-proto's own header names the plugin versions; add our banner so nobody edits by hand.
find ../packages/contracts/src/gen -name '*.ts' -print0 | while IFS= read -r -d '' f; do
  { echo '// DO NOT EDIT: generated from proto/ by `npm run proto:generate`.'; cat "$f"; } > "$f.tmp" && mv "$f.tmp" "$f"
done
echo "generated packages/contracts/src/gen"
