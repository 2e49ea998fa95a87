#!/usr/bin/env bash
# Regenerates packages/contracts/src/gen from proto/ with buf + the local ts-proto plugin, and the
# FileDescriptorSet that gRPC server reflection serves (gen/file-descriptor-set.ts): ours and the
# health service's (the proto grpc-health-check serves).
set -euo pipefail
cd "$(dirname "$0")/../proto"
rm -rf ../packages/contracts/src/gen
../node_modules/.bin/buf lint
../node_modules/.bin/buf generate
# Every proto file and its imports, without comments: a base64 string in a .ts module, so tsc ships it in
# dist/ like the rest (a .binpb beside it would need a copy step in every build and image).
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
../node_modules/.bin/buf build --exclude-source-info --as-file-descriptor-set -o "$tmp/dlr.binpb"
../node_modules/.bin/buf build ../node_modules/grpc-health-check/proto --exclude-source-info --as-file-descriptor-set \
  -o "$tmp/health.binpb"
# Two serialized FileDescriptorSets concatenated are one with the files of both (repeated field 1).
cat "$tmp/dlr.binpb" "$tmp/health.binpb" > "$tmp/all.binpb"
{
  echo '/** google.protobuf.FileDescriptorSet of proto/, its imports and grpc.health.v1 (base64), for gRPC server reflection. */'
  printf "export const FILE_DESCRIPTOR_SET_BASE64 =\n  '%s';\n" "$(base64 -w0 "$tmp/all.binpb")"
} > ../packages/contracts/src/gen/file-descriptor-set.ts
# ts-proto's own header names the plugin versions; add our banner so nobody edits by hand.
find ../packages/contracts/src/gen -name '*.ts' -print0 | while IFS= read -r -d '' f; do
  { echo '// DO NOT EDIT: generated from proto/ by `npm run proto:generate`.'; cat "$f"; } > "$f.tmp" && mv "$f.tmp" "$f"
done
echo "generated packages/contracts/src/gen"
