import type { Logger } from '@dlr/core';
import { emptyCounts } from '@dlr/status-engine';
import { describe, expect, it } from 'vitest';
import { bucketStart, startCountSnapshots, type CountHistoryStore, type CountsSnapshot } from './history.js';
import type { CommunicationCounts } from './reads.js';

function countsOf(pending: number): CommunicationCounts {
  const status = { ...emptyCounts(), pending };
  return {
    total: pending,
    status,
    channel: { email: status, sms: emptyCounts(), unknown: emptyCounts() },
    response: {},
  };
}

/** A logger that keeps what was warned. */
function recordingLogger(): Logger & { warned: unknown[][] } {
  const warned: unknown[][] = [];
  const noop = () => undefined;
  const logger: Logger & { warned: unknown[][] } = {
    warned,
    debug: noop,
    info: noop,
    error: noop,
    warn: (...args: unknown[]) => void warned.push(args),
    child: () => logger,
  };
  return logger;
}

/** An in-memory store (the domain's port; the Mongo adapter is tested against a real server). */
function memoryStore(): CountHistoryStore & { puts: [string, CountsSnapshot][] } {
  const puts: [string, CountsSnapshot][] = [];
  return {
    puts,
    put: async (c, s) => void puts.push([c, s]),
    list: async () => [],
  };
}

const NOW = new Date('2026-12-07T10:00:31.500Z');

describe('bucketStart', () => {
  it('aligns on the bucket width', () => {
    expect(bucketStart(NOW, 60_000).toISOString()).toBe('2026-12-07T10:00:00.000Z');
    expect(bucketStart(NOW, 15_000).toISOString()).toBe('2026-12-07T10:00:30.000Z');
  });
});

describe('startCountSnapshots', () => {
  it('snapshots the communications counted since the last tick, once each, and not day buckets', async () => {
    const store = memoryStore();
    const read: string[] = [];
    const snapshots = startCountSnapshots({
      counts: async (c) => (read.push(c), countsOf(3)),
      store,
      tickMs: 60_000,
      bucketMs: 60_000,
      logger: recordingLogger(),
      now: () => NOW,
    });
    snapshots.changed(['c_a', 'c_a@2026-12-07', 'c_b']);
    snapshots.changed(['c_a']);
    await snapshots.flush();
    expect(read).toEqual(['c_a', 'c_b']);
    expect(store.puts.map(([c, s]) => [c, s.bucket.toISOString(), s.takenAt, s.total])).toEqual([
      ['c_a', '2026-12-07T10:00:00.000Z', NOW, 3],
      ['c_b', '2026-12-07T10:00:00.000Z', NOW, 3],
    ]);
    await snapshots.flush(); // nothing changed since
    expect(read).toHaveLength(2);
    await snapshots.stop();
  });

  it('skips a communication without records (nothing to chart)', async () => {
    const store = memoryStore();
    const snapshots = startCountSnapshots({
      counts: async () => countsOf(0),
      store,
      tickMs: 60_000,
      bucketMs: 60_000,
      logger: recordingLogger(),
    });
    snapshots.changed(['c_a']);
    await snapshots.flush();
    expect(store.puts).toHaveLength(0);
    await snapshots.stop();
  });

  it('survives a store outage: logs without personal data and tries again next tick', async () => {
    const store = memoryStore();
    const logger = recordingLogger();
    let down = true;
    const snapshots = startCountSnapshots({
      counts: async () => {
        if (down) throw new Error('connection timed out');
        return countsOf(2);
      },
      store,
      tickMs: 60_000,
      bucketMs: 60_000,
      logger,
    });
    snapshots.changed(['c_a', 'c_b']);
    await snapshots.flush();
    expect(store.puts).toHaveLength(0);
    // One line per tick, naming the communication that failed and how many wait; the rest not tried.
    expect(logger.warned).toEqual([
      [{ communicationId: 'c_a', waiting: 2, err: 'Error: connection timed out' }, 'count snapshot failed; next tick'],
    ]);
    down = false;
    await snapshots.flush();
    expect(store.puts.map(([c]) => c)).toEqual(['c_a', 'c_b']);
    await snapshots.stop();
  });

  it('takes a last snapshot on stop, and gives up waiting for a stuck store after the grace', async () => {
    const store = memoryStore();
    const logger = recordingLogger();
    const snapshots = startCountSnapshots({
      counts: () => new Promise<CommunicationCounts>(() => undefined), // never answers
      store,
      tickMs: 60_000,
      bucketMs: 60_000,
      logger,
      stopGraceMs: 50,
    });
    snapshots.changed(['c_a']);
    const started = Date.now();
    await snapshots.stop();
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(logger.warned.at(-1)?.[1]).toBe('stopped while taking count snapshots; the rest are skipped');
    snapshots.changed(['c_b']); // after stop: ignored
    await snapshots.stop();
    expect(store.puts).toHaveLength(0);
  });
});
