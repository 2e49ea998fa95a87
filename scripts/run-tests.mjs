#!/usr/bin/env node
// Runs every workspace's tests through turbo (one package at a time: the machine has 2 cores and
// the end-to-end test starts six processes), then prints one total from the JSON reports.
// Expects NATS_URL/MONGODB_URI from scripts/with-infra.mjs (the globalSetup would start servers
// per package otherwise).
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import * as path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
const results = path.join(root, '.dlr', 'test-results');
rmSync(results, { recursive: true, force: true });
mkdirSync(results, { recursive: true });

const turbo = spawnSync(
  path.join(root, 'node_modules', '.bin', 'turbo'),
  ['run', 'test', '--concurrency=1', '--continue', ...process.argv.slice(2)],
  { cwd: root, stdio: 'inherit', env: { ...process.env, DLR_TEST_RESULTS: results, TURBO_TELEMETRY_DISABLED: '1' } },
);

let passed = 0;
let failed = 0;
let skipped = 0;
const failedSuites = [];
const failures = [];
for (const file of readdirSync(results)
  .filter((f) => f.endsWith('.json'))
  .sort()) {
  const report = JSON.parse(readFileSync(path.join(results, file), 'utf8'));
  passed += report.numPassedTests;
  failed += report.numFailedTests;
  skipped += report.numPendingTests + report.numTodoTests;
  if (report.numFailedTests > 0 || report.numFailedTestSuites > 0) failedSuites.push(file.replace(/\.json$/, ''));
  // Name each failing file and the first lines of why, so a log's tail says what broke (a failed
  // beforeAll shows only as skipped tests otherwise).
  for (const suite of report.testResults ?? []) {
    if (suite.status !== 'failed') continue;
    const why = [
      suite.message,
      ...(suite.assertionResults ?? []).flatMap((t) => (t.status === 'failed' ? t.failureMessages : [])),
    ]
      .filter(Boolean)
      .join('\n');
    failures.push(`${path.relative(root, suite.name)}: ${why.split('\n').slice(0, 6).join('\n    ')}`);
  }
}
console.log('');
for (const failure of failures) console.log(`FAILED ${failure}`);
if (failedSuites.length > 0) console.log(`failing packages: ${failedSuites.join(', ')}`);
if (turbo.status !== 0 && failedSuites.length === 0)
  console.log(
    'a test command failed with every test passed: an unhandled error (vitest prints "Errors  1 error" in that package\'s summary above) or a failed hook',
  );
console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
const ok = turbo.status === 0 && failed === 0 && passed > 0;
process.exit(ok ? 0 : 1);
