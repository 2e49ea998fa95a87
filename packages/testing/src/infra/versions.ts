// The server versions every path provides.

export const NATS_SERVER_VERSION = 'v2.15.2';
export const FERRETDB_VERSION = 'v1.24.2';
/** Image tags for the container path; overridable with DLR_INFRA_NATS_IMAGE / DLR_INFRA_MONGO_IMAGE. */
export const NATS_IMAGE = `nats:${NATS_SERVER_VERSION.slice(1)}`;
export const MONGO_IMAGE = 'mongo:7';
/** grpcurl, for the tests that call our gRPC servers as an operator would: no .proto files, reflection only. */
export const GRPCURL_VERSION = 'v1.9.4';
