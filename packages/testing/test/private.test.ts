// A private server can be crashed (SIGKILL) and restarted on the same port and data directory, as
// the fault suite needs: what JetStream acknowledged before the kill is there after the restart.
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { afterAll, describe, expect, it } from 'vitest';
import { startPrivateServer, type PrivateServer } from '../src/index.js';

const servers: PrivateServer[] = [];

afterAll(async () => {
  for (const s of servers) await s.stop();
});

describe('startPrivateServer', () => {
  it('kill() then restart() keeps the URL and the JetStream data', async () => {
    const server = await startPrivateServer('nats', () => undefined);
    servers.push(server);
    const first = server.pid;
    let nc = await connect({ servers: server.url });
    let jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: 'KEEP', subjects: ['keep.>'] });
    const js = jsm.jetstream();
    for (let i = 0; i < 5; i++) await js.publish(`keep.${i}`, new TextEncoder().encode(String(i)));
    await nc.close();

    await server.kill();
    await expect(connect({ servers: server.url, reconnect: false })).rejects.toThrow();
    await server.restart();
    expect(server.pid).not.toBe(first);

    nc = await connect({ servers: server.url });
    jsm = await jetstreamManager(nc);
    expect((await jsm.streams.info('KEEP')).state.messages).toBe(5);
    await nc.close();
  });

  it('restart() refuses while the server runs', async () => {
    const server = await startPrivateServer('nats', () => undefined);
    servers.push(server);
    await expect(server.restart()).rejects.toThrow(/still running/);
  });
});
