import { describe, expect, it } from 'vitest';
import { groupCommit } from './group-commit.js';

describe('groupCommit', () => {
  it('sends the items that arrive together as one batch and answers each caller with its own outcome', async () => {
    const batches: number[][] = [];
    const submit = groupCommit<number, string>({
      run: async (items) => {
        batches.push([...items]);
        return items.map((n) => (n % 5 === 0 ? new Error(`no ${n}`) : `ok ${n}`));
      },
    });
    const results = await Promise.allSettled(Array.from({ length: 12 }, (_, i) => submit(i + 1)));
    expect(batches).toEqual([[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]]);
    expect(results.map((r) => (r.status === 'fulfilled' ? r.value : (r.reason as Error).message))).toEqual([
      'ok 1',
      'ok 2',
      'ok 3',
      'ok 4',
      'no 5',
      'ok 6',
      'ok 7',
      'ok 8',
      'ok 9',
      'no 10',
      'ok 11',
      'ok 12',
    ]);
  });

  it('keeps batches within maxItems and maxInFlight, and batches what queued while they ran', async () => {
    const batches: number[][] = [];
    let running = 0;
    let mostRunning = 0;
    const gates: (() => void)[] = [];
    const submit = groupCommit<number, number>({
      maxItems: 3,
      maxInFlight: 2,
      run: async (items) => {
        batches.push([...items]);
        running += 1;
        mostRunning = Math.max(mostRunning, running);
        await new Promise<void>((resolve) => gates.push(resolve));
        running -= 1;
        return items.map((n) => n * 10);
      },
    });
    const all = Array.from({ length: 10 }, (_, i) => submit(i));
    await new Promise((resolve) => setImmediate(resolve));
    expect(batches).toEqual([
      [0, 1, 2],
      [3, 4, 5],
    ]);
    while (batches.flat().length < 10 || gates.length > 0) {
      gates.shift()?.();
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(await Promise.all(all)).toEqual([0, 10, 20, 30, 40, 50, 60, 70, 80, 90]);
    expect(batches.every((b) => b.length <= 3)).toBe(true);
    expect(mostRunning).toBe(2);
  });

  it('fails every item of a batch that throws, and the next batch still runs', async () => {
    let calls = 0;
    const submit = groupCommit<string, string>({
      run: async (items) => {
        calls += 1;
        if (calls === 1) throw new Error('store down');
        return items.map((s) => s.toUpperCase());
      },
    });
    const first = await Promise.allSettled([submit('a'), submit('b')]);
    expect(first.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    expect(await submit('c')).toBe('C');
  });
});
