import { runMain, startService } from '@dlr/platform';
import { buildApp, migrate, topology } from './app.js';
import { configShape } from './config.js';

runMain('dispatch', () => startService({ name: 'dispatch', shape: configShape, topology, migrate, build: buildApp }));
