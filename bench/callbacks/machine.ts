// What the figures were measured on: CPU, memory, Node, the store and the NATS server.
import * as net from 'node:net';
import * as os from 'node:os';
import { MongoClient } from 'mongodb';

/** `<cpu model> x<cores>, <GiB> GiB, Node <v>, load <1-min load average now>`. */
export function describeHost(): string {
  const cpus = os.cpus();
  const model = cpus[0]?.model.trim() ?? 'unknown CPU';
  const gib = (os.totalmem() / 2 ** 30).toFixed(1);
  return `${model} x${cpus.length}, ${gib} GiB, Node ${process.version}, load ${loadAverage().toFixed(1)} at start`;
}

/** The 1-minute load average (other work on the machine skews every figure). */
export function loadAverage(): number {
  return os.loadavg()[0] ?? 0;
}

/**
 * The store from `buildInfo`: `FerretDB <v> [SQLite] (wire <v>)` or `MongoDB <v>`; FerretDB's
 * backend is not in buildInfo, so SQLite is named only when the infra provided its own FerretDB
 * (`DLR_INFRA_PATH=local-binaries`, which runs FerretDB v1 on SQLite).
 */
export async function describeStore(mongoUri: string, infraPath: string | undefined): Promise<string> {
  const client = new MongoClient(mongoUri, { serverSelectionTimeoutMS: 5_000 });
  try {
    const info = await client.db('admin').command({ buildInfo: 1 });
    const version = String(info.version);
    const via = infraPath ? `, via ${infraPath}` : '';
    if (typeof info.ferretdbVersion === 'string') {
      const backend = infraPath === 'local-binaries' ? ' SQLite' : '';
      const patch = typeof info.deliveryReportingPatch === 'string' ? `, ${info.deliveryReportingPatch} patch` : '';
      return `FerretDB ${info.ferretdbVersion}${backend} (wire ${version}${via}${patch})`;
    }
    const v2 = (info.ferretdb as { version?: unknown } | undefined)?.version;
    // FerretDB v2 runs only on PostgreSQL with the DocumentDB extension.
    if (typeof v2 === 'string') return `FerretDB ${v2} on PostgreSQL + DocumentDB (wire ${version}${via})`;
    return `MongoDB ${version}${via ? ` (${via.slice(2)})` : ''}`;
  } catch (error) {
    return `unknown (${error instanceof Error ? error.message : String(error)})`;
  } finally {
    await client.close();
  }
}

/** The NATS server's version from the INFO line it greets every connection with. */
export async function describeNats(natsUrl: string): Promise<string> {
  const first = natsUrl.split(',')[0] ?? natsUrl;
  const url = new URL(first.includes('://') ? first : `nats://${first}`);
  try {
    const info = await natsInfo(url.hostname, Number(url.port || 4222));
    const js = info.jetstream === true ? ', JetStream' : '';
    const version = typeof info.version === 'string' ? info.version : 'unknown';
    return `${version}${js}`;
  } catch (error) {
    return `unknown (${error instanceof Error ? error.message : String(error)})`;
  }
}

function natsInfo(host: string, port: number): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port });
    let buffer = '';
    const finish = (error: Error | undefined, info?: Record<string, unknown>) => {
      clearTimeout(timer);
      socket.destroy();
      if (error) reject(error);
      else resolve(info ?? {});
    };
    const timer = setTimeout(() => finish(new Error('no INFO within 3 s')), 3_000);
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      const end = buffer.indexOf('\r\n');
      if (end < 0) return;
      const line = buffer.slice(0, end);
      if (!line.startsWith('INFO ')) return finish(new Error('unexpected greeting'));
      try {
        finish(undefined, JSON.parse(line.slice(5)) as Record<string, unknown>);
      } catch {
        finish(new Error('unparsable INFO'));
      }
    });
    socket.once('error', (error) => finish(error));
  });
}
