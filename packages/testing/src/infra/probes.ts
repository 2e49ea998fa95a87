// Asking servers and the OS over the network: does a port answer, does MongoDB ping, what does NATS say, a free port.
import * as net from 'node:net';
import { readFileSync } from 'node:fs';

export interface HostPort {
  host: string;
  port: number;
}

export function tcpConnect(hp: HostPort, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host: hp.host, port: hp.port });
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`no answer within ${timeoutMs} ms`));
    }, timeoutMs);
    sock.once('connect', () => {
      clearTimeout(timer);
      sock.destroy();
      resolve();
    });
    sock.once('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      sock.destroy();
      reject(new Error(e.code ?? e.message));
    });
  });
}

export async function mongoPing(uri: string, timeoutMs: number): Promise<void> {
  const { MongoClient } = await import('mongodb');
  const client = new MongoClient(uri, { serverSelectionTimeoutMS: timeoutMs, connectTimeoutMS: timeoutMs });
  try {
    await client.connect();
    await client.db('admin').command({ ping: 1 });
  } finally {
    await client.close().catch(() => {});
  }
}

/** Connects and reads the server's INFO line (the first thing a NATS server sends). */
export function natsInfo(port: number, timeoutMs: number): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host: '127.0.0.1', port });
    let buf = '';
    const done = (err: Error | undefined, info?: Record<string, unknown>): void => {
      clearTimeout(timer);
      sock.destroy();
      if (err) reject(err);
      else resolve(info ?? {});
    };
    const timer = setTimeout(() => done(new Error('no INFO in time')), Math.max(timeoutMs, 50));
    sock.setEncoding('utf8');
    sock.on('data', (d: string) => {
      buf += d;
      const nl = buf.indexOf('\r\n');
      if (nl < 0) return;
      const line = buf.slice(0, nl);
      if (!line.startsWith('INFO ')) return done(new Error(`unexpected greeting ${line.slice(0, 40)}`));
      try {
        done(undefined, JSON.parse(line.slice(5)) as Record<string, unknown>);
      } catch {
        done(new Error('unparsable INFO'));
      }
    });
    sock.once('error', (e: NodeJS.ErrnoException) => done(new Error(e.code ?? e.message)));
  });
}

/** Ports this process handed out: a port is free until its service binds it, seconds later. */
const handedOut = new Set<number>();

/**
 * A free port on 127.0.0.1 below the kernel's ephemeral range, never the same one twice in a
 * process. A port the OS hands out for `listen(0)` is an ephemeral one, and any outgoing connection
 * (to NATS, the store) may take it as its local port before the service binds it (EADDRINUSE in CI);
 * ports below the range are only ever taken by a listen. A system draws 13 ports before any is bound
 * (two alike: about one start in 250, a suite-wide flake). Parallel vitest workers draw from
 * disjoint slices (VITEST_POOL_ID).
 */
export async function freePort(): Promise<number> {
  const [low] = ephemeralRange();
  const top = Math.min(low, 65_536) - 1;
  let bottom = Math.max(1_024, top - 20_000);
  let span = top - bottom;
  const worker = Number(process.env.VITEST_POOL_ID);
  if (Number.isInteger(worker) && worker >= 1) {
    span = Math.floor(span / 8);
    bottom += ((worker - 1) % 8) * span;
  }
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = bottom + Math.floor(Math.random() * span);
    if (handedOut.has(port)) continue;
    if (await canListen(port)) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error(`no free port found between ${bottom} and ${bottom + span}`);
}

function ephemeralRange(): [number, number] {
  try {
    const [low, high] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    if (low && high) return [low, high];
  } catch {
    // not Linux: fall through to the IANA range
  }
  return [49_152, 65_535];
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.unref();
    srv.once('error', () => resolve(false));
    srv.listen({ port, host: '127.0.0.1', exclusive: true }, () => srv.close(() => resolve(true)));
  });
}
