import { serviceMain } from '@dlr/platform';
import { buildApp, migrate } from './app.js';
import { configShape } from './config.js';

// `node main.js migrate` prepares streams, consumers and indexes and exits (deploy hook); no argument runs the service.
serviceMain({ name: 'feedback-link', shape: configShape, migrate, build: buildApp });
