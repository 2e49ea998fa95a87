import { runMain, startService } from '@dlr/platform';
import { buildApp, migrate, topology } from './app.js';
import { configShape } from './config.js';

runMain('reporting', () =>
  startService({ name: 'reporting', shape: configShape, topology, migrate, build: buildApp, grpcPortKey: 'GRPC_PORT' }),
);
