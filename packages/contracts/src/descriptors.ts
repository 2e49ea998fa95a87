import { BinaryReader, WireType } from '@bufbuild/protobuf/wire';
import { FILE_DESCRIPTOR_SET_BASE64 } from './gen/file-descriptor-set.js';

/**
 * The serialized `google.protobuf.FileDescriptorProto` of every file our gRPC servers use — proto/,
 * its imports and `grpc/health/v1/health.proto` — exactly as buf compiled them, for server
 * reflection (clients such as grpcurl resolve every type from these).
 */
export function fileDescriptorProtos(): Uint8Array[] {
  const reader = new BinaryReader(Buffer.from(FILE_DESCRIPTOR_SET_BASE64, 'base64'));
  const files: Uint8Array[] = [];
  while (reader.pos < reader.len) {
    const [field, wireType] = reader.tag();
    // FileDescriptorSet: `repeated FileDescriptorProto file = 1`, nothing else.
    if (field === 1 && wireType === WireType.LengthDelimited) files.push(reader.bytes());
    else reader.skip(wireType);
  }
  return files;
}
