import { port } from '@dlr/platform';

/** Variables of the communication service (the base ones come from the platform). */
export const configShape = {
  GRPC_PORT: port(50051),
};
