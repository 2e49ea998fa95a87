// The rank rule exists twice: as the engine's pure `rankEvent` (@dlr/status-engine) and as the
// filter of the conditional update in MongoDB (plus the `$addToSet` of a flag). This runs the same random event sequences through both, against the real server, and
// requires the same result at every step — sequentially, and with the events applied all at once.
import { connectMongo, type MongoHandle } from '@dlr/platform';
import { emptyCounts, INITIAL_STATE, rankEvent, STATUS_KEYS, viewOf, type RankState } from '@dlr/status-engine';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrateRecords, RecordsRepository } from '../src/adapters/mongo/records.js';
import { Projector } from '../src/adapters/nats/consumers.js';
import type { DeliveryEventIn } from '../src/domain/model.js';
import { KeyedLock } from '../src/keyed-lock.js';
import { infra, rand, silentLogger } from './helpers.js';

let mongo: MongoHandle;
let repo: RecordsRepository;
let projector: Projector;
const communicationId = `c_${rand()}`;
const expected: RankState[] = [];

beforeAll(async () => {
  mongo = await connectMongo({
    uri: infra().mongoUri,
    dbName: `t_${rand(12)}`,
    logger: silentLogger,
    appName: 'reporting-test',
  });
  await migrateRecords(mongo.db);
  repo = new RecordsRepository(mongo.db);
  projector = new Projector({ repo, lock: new KeyedLock(), logger: silentLogger });
});

afterAll(async () => {
  await mongo?.db.dropDatabase();
  await mongo?.close();
});

type Draft = Omit<DeliveryEventIn, 'deliveryId'>;

const draftsArb = fc
  .array(
    fc.record({
      status: fc.constantFrom(...STATUS_KEYS),
      attempt: fc.integer({ min: 0, max: 3 }),
      occurredAt: fc.option(fc.integer({ min: 0, max: 2 }).map((s) => new Date(Date.UTC(2025, 0, 1, 0, 0, s)))),
      response: fc.constantFrom('', 'safe', 'need help'),
      reasonCode: fc.constantFrom('', 'temporary_bounce', 'permanent_bounce', 'complaint'),
      suspectedBot: fc.integer({ min: 0, max: 7 }).map((n) => n === 0),
    }),
    { minLength: 1, maxLength: 8 },
  )
  .map((list) =>
    list.map((e, i): Draft => ({
      eventId: `ev:${i}`,
      communicationId,
      channel: 'email',
      status: e.status,
      attempt: e.attempt,
      occurredAt: e.occurredAt ?? undefined,
      response: e.response,
      reasonCode: e.reasonCode,
      reasonText: e.reasonCode === '' ? '' : `text of ${e.reasonCode}`,
      suspectedBot: e.suspectedBot,
      source: e.attempt === 0 ? 'feedback' : 'provider',
      provider: 'simulator',
      providerEventType: e.status,
      providerMessageId: '',
      receivedAt: new Date(Date.UTC(2025, 0, 1, 0, 1, i)),
    })),
  );

/** The drafts shuffled with duplicates, and where `RecipientsAdded` comes in that sequence. */
const runArb = draftsArb.chain((drafts) =>
  fc
    .tuple(
      fc.array(fc.integer({ min: 1, max: 2 }), { minLength: drafts.length, maxLength: drafts.length }),
      fc.func(fc.integer()),
      fc.nat(),
    )
    .map(([copies, order, recipientsAt]) => {
      const sequence = drafts
        .flatMap((d, i) => Array.from({ length: copies[i] ?? 1 }, (_, c) => ({ d, k: order(i, c) })))
        .sort((a, b) => a.k - b.k)
        .map(({ d }) => d);
      return { sequence, recipientsAt: recipientsAt % (sequence.length + 1) };
    }),
);

describe('pure rankEvent and the MongoDB conditional update agree', () => {
  it('step by step, with RecipientsAdded anywhere in the sequence', async () => {
    await fc.assert(
      fc.asyncProperty(runArb, async ({ sequence, recipientsAt }) => {
        const deliveryId = `d_${rand(12)}`;
        let pure = INITIAL_STATE;
        for (const [i, draft] of sequence.entries()) {
          if (i === recipientsAt) {
            await repo.upsertRecipients(
              communicationId,
              [{ deliveryId, channel: 'email', recipientName: 'Test Person', address: 'tp@example.test' }],
              new Date(),
            );
          }
          const event = { ...draft, deliveryId, eventId: `${deliveryId}:${draft.eventId}` };
          const step = rankEvent(pure, event);
          const changed = await repo.applyEvent(event, new Date());
          expect(changed, `step ${i}: ${JSON.stringify(event)}`).toBe(step.changed);
          pure = step.state;
          const stored = await repo.get(deliveryId);
          expect(stored?.state, `after step ${i}`).toEqual(pure);
        }
        if (recipientsAt === sequence.length) {
          await repo.upsertRecipients(
            communicationId,
            [{ deliveryId, channel: 'email', recipientName: 'Test Person', address: 'tp@example.test' }],
            new Date(),
          );
        }
        const stored = await repo.get(deliveryId);
        expect(stored).toMatchObject({ recipientName: 'Test Person', channel: 'email', communicationId, state: pure });
        expected.push(pure);
      }),
      { numRuns: 40 },
    );
  });

  it('with every event of a record applied at once', async () => {
    await fc.assert(
      fc.asyncProperty(runArb, async ({ sequence }) => {
        const deliveryId = `d_${rand(12)}`;
        const events = sequence.map((draft) => ({ ...draft, deliveryId, eventId: `${deliveryId}:${draft.eventId}` }));
        await Promise.all([
          ...events.map((event) => projector.deliveryEvent(event)),
          projector.recipientsAdded({
            communicationId,
            deliveries: [{ deliveryId, channel: 'email', recipientName: 'Test Person', address: 'tp@example.test' }],
          }),
        ]);
        const pure = events.reduce((state: RankState, e) => rankEvent(state, e).state, INITIAL_STATE);
        const stored = await repo.get(deliveryId);
        expect(stored).toMatchObject({ recipientName: 'Test Person', state: pure });
        expect(new Set((await repo.timeline(deliveryId)).map((t) => t.eventId))).toEqual(
          new Set(events.map((e) => e.eventId)),
        );
        expected.push(pure);
      }),
      { numRuns: 25 },
    );
  });

  it('counts per status equal a recount of the records', async () => {
    const recount = emptyCounts();
    for (const state of expected) recount[viewOf(state).status] += 1;
    expect(expected.length).toBeGreaterThan(0);
    expect(await repo.countByStatus(communicationId)).toEqual(recount);
  });
});
