// The import-circle check of `npm run lint`: it finds the fixture's circle, and the tree has none.
import { describe, expect, it } from 'vitest';
import { importCircles, TREE } from '../circles.js';

describe('import circles', () => {
  it('finds a circle between two files', async () => {
    const circles = await importCircles(['tools/boundaries/test/fixtures/circle'], { withFixtures: true });
    expect(circles).toEqual([
      ['tools/boundaries/test/fixtures/circle/first.ts', 'tools/boundaries/test/fixtures/circle/second.ts'],
    ]);
  });

  it('finds none in the repository', async () => {
    expect(await importCircles(TREE)).toEqual([]);
  });
});
