import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { createLogger, type Logger } from '@dlr/platform';

/** The servers the global setup provides (or the developer exported). */
export function infraUrls(): { natsUrl: string; mongoUri: string } {
  const natsUrl = process.env.NATS_URL;
  const mongoUri = process.env.MONGODB_URI;
  if (!natsUrl || !mongoUri) throw new Error('NATS_URL and MONGODB_URI must be set (by the vitest global setup)');
  return { natsUrl, mongoUri };
}

/** A short random lower-case suffix for names that must not collide between test files and runs. */
export function randomSuffix(): string {
  return randomBytes(5).toString('hex');
}

/** A logger whose JSON lines are kept in memory, so tests can read (and check) what was logged. */
export function memoryLogger(service = 'platform-test', level = 'debug'): { logger: Logger; raw: () => string } {
  const chunks: string[] = [];
  const logger = createLogger(service, level, { write: (s: string) => void chunks.push(s) });
  return { logger, raw: () => chunks.join('') };
}

/** A TCP port on 127.0.0.1 that nothing listens on (bound once, then released). */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (typeof address !== 'object' || address === null) throw new Error('no port');
  return address.port;
}

/** A promise with its resolve function, for handlers that must wait for the test. */
export function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}
