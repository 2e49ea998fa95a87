import { runMain, startService } from '@dlr/platform';
import { buildApp, migrate, topology } from './app.js';
import { configShape } from './config.js';

runMain('provider-callback', () =>
  startService({ name: 'provider-callback', shape: configShape, topology, migrate, build: buildApp }),
);
