import { runMain, startService } from '@dlr/platform';
import { buildApp, migrate, topology } from './app.js';
import { configShape } from './config.js';

runMain('communication', () =>
  startService({
    name: 'communication',
    shape: configShape,
    topology,
    migrate,
    grpcPortKey: 'GRPC_PORT',
    build: buildApp,
  }),
);
