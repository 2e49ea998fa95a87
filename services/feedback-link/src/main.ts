import { runMain, startService } from '@dlr/platform';
import { buildApp, migrate, topology } from './app.js';
import { configShape } from './config.js';

runMain('feedback-link', () =>
  startService({ name: 'feedback-link', shape: configShape, topology, migrate, build: buildApp }),
);
