import { describe, expect, it } from 'vitest';
import { startConsumers, type ConsumerHandle } from './nats.js';

describe('startConsumers', () => {
  const handle = (name: string, stopped: string[]): ConsumerHandle => ({
    stop: async () => void stopped.push(name),
  });

  it('starts each in order and stops them all through one handle', async () => {
    const started: string[] = [];
    const stopped: string[] = [];
    const all = await startConsumers(
      ['a', 'b', 'c'].map((name) => async () => {
        started.push(name);
        return handle(name, stopped);
      }),
    );
    expect(started).toEqual(['a', 'b', 'c']);
    await all.stop();
    expect(stopped.sort()).toEqual(['a', 'b', 'c']);
  });

  it('stops the ones already started when one cannot start, and throws its error', async () => {
    const stopped: string[] = [];
    let thirdStarted = false;
    await expect(
      startConsumers([
        async () => handle('a', stopped),
        async () => {
          throw new Error('no such consumer');
        },
        async () => {
          thirdStarted = true;
          return handle('c', stopped);
        },
      ]),
    ).rejects.toThrow('no such consumer');
    expect(stopped).toEqual(['a']);
    expect(thirdStarted).toBe(false);
  });
});
