// Reporting end to end against real NATS and a real MongoDB-compatible server: publish what the other
// services publish, read what an operator reads (REST, gRPC, the HTML report).
import { promisify } from 'node:util';
import {
  DeliveryStatus,
  partitionOf,
  REPORTING_PARTITIONS,
  reportingPartitionConsumer,
  streamNames,
  subjects,
  ListDeliveryRecordsRequest,
  type ListDeliveryRecordsResponse,
} from '@dlr/contracts';
import { publishDurable } from '@dlr/platform';
import { status as grpcStatus } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '@dlr/testing';
import {
  AUTH,
  counts,
  getJson,
  grpcClient,
  publishEvent,
  publishRecipients,
  rand,
  settled,
  startReporting,
  type DetailJson,
  type ErrorJson,
  type Harness,
  type ListJson,
} from './helpers.js';

let h: Harness;

beforeAll(async () => {
  h = await startReporting();
});

afterAll(async () => {
  await h?.stop();
});

function ids(prefix: string, n: number): string[] {
  const run = rand(6);
  return Array.from({ length: n }, (_, i) => `${prefix}_${run}${String(i).padStart(3, '0')}`);
}

async function list(communicationId: string, query = ''): Promise<ListJson> {
  const { status, body } = await getJson<ListJson>(
    h,
    `/api/v1/communications/${communicationId}/delivery-records${query}`,
  );
  expect(status).toBe(200);
  return body;
}

async function record(deliveryId: string): Promise<DetailJson> {
  const { status, body } = await getJson<DetailJson>(h, `/api/v1/delivery-records/${deliveryId}`);
  if (status !== 200) throw new Error(`GET record ${deliveryId}: ${status}`);
  return body;
}

describe('projection of recipients and events', () => {
  const [c] = ids('c', 1) as [string];
  const [d1, d2, d3] = ids('d', 3) as [string, string, string];

  it('shows added recipients as Pending, with counts', async () => {
    await publishRecipients(h, c, [
      { id: d1, channel: 'email', name: 'Ada Example', address: 'delivered-ada@example.test' },
      { id: d2, channel: 'sms', name: 'Bo Example', address: '+61400009991' },
      { id: d3, channel: 'email', name: 'Cy Example', address: 'cy@example.test' },
    ]);
    // Counts and the page are two reads; poll until both show the whole batch.
    await eventually(async () => {
      const page = await list(c);
      expect(page.total).toBe(3);
      expect(page.counts).toEqual(counts({ pending: 3 }));
      expect(page.nextCursor).toBeNull();
      expect(page.records.map((r) => [r.id, r.channel, r.recipientName, r.address, r.status, r.statusLabel])).toEqual([
        [d1, 'email', 'Ada Example', 'delivered-ada@example.test', 'pending', 'Pending'],
        [d2, 'sms', 'Bo Example', '+61400009991', 'pending', 'Pending'],
        [d3, 'email', 'Cy Example', 'cy@example.test', 'pending', 'Pending'],
      ]);
    });
  });

  it('ends Delivered after Sent, Delivered, a late Sent and a duplicate, with the whole timeline', async () => {
    const t0 = Date.now();
    const base = { deliveryId: d1, communicationId: c, attempt: 1 };
    const sent = {
      ...base,
      eventId: `dispatch:${d1}:1:sent`,
      status: DeliveryStatus.DELIVERY_STATUS_SENT,
      source: 'dispatch' as const,
      receivedAt: new Date(t0),
    };
    const delivered = {
      ...base,
      eventId: `provider:simulator:sev_${rand()}`,
      status: DeliveryStatus.DELIVERY_STATUS_DELIVERED,
      receivedAt: new Date(t0 + 1_000),
    };
    const lateSent = {
      ...base,
      eventId: `provider:simulator:sev_${rand()}`,
      status: DeliveryStatus.DELIVERY_STATUS_SENT,
      receivedAt: new Date(t0 + 2_000),
    };
    await publishEvent(h, sent);
    await publishEvent(h, delivered);
    await eventually(async () => expect((await record(d1)).record.status).toBe('delivered'));
    await publishEvent(h, lateSent);
    // A redelivery from outside JetStream's duplicate window: same event ID, new Nats-Msg-Id.
    await publishEvent(h, delivered, `${delivered.eventId}#again`);
    await publishEvent(h, sent, `${sent.eventId}#again`);
    await settled(h);

    const detail = await record(d1);
    expect(detail.record).toMatchObject({ id: d1, communicationId: c, status: 'delivered', statusLabel: 'Delivered' });
    expect(detail.record.attempt).toBe(1);
    expect(detail.record.flags).toEqual([]);
    expect(detail.timeline.map((e) => [e.eventId, e.status])).toEqual([
      [sent.eventId, 'sent'],
      [delivered.eventId, 'delivered'],
      [lateSent.eventId, 'sent'],
    ]);
    expect((await list(c)).counts).toEqual(counts({ pending: 2, delivered: 1 }));
  });

  it('lets Acknowledged (attempt 0) outrank Failed and keeps it after a later complaint', async () => {
    const base = { deliveryId: d2, communicationId: c, attempt: 1 };
    await publishEvent(h, {
      ...base,
      eventId: `provider:simulator:sev_${rand()}`,
      status: DeliveryStatus.DELIVERY_STATUS_FAILED,
      reasonCode: 'permanent_bounce',
      reasonText: '550 mailbox unavailable',
    });
    await eventually(async () =>
      expect((await record(d2)).record).toMatchObject({
        status: 'failed',
        reasonCode: 'permanent_bounce',
        reasonText: '550 mailbox unavailable',
      }),
    );
    await publishEvent(h, {
      ...base,
      attempt: 0,
      source: 'feedback',
      eventId: `feedback:${d2}:ack`,
      status: DeliveryStatus.DELIVERY_STATUS_ACKNOWLEDGED,
      response: 'I am safe',
    });
    await publishEvent(h, {
      ...base,
      eventId: `provider:simulator:sev_${rand()}`,
      status: DeliveryStatus.DELIVERY_STATUS_FAILED,
      reasonCode: 'complaint',
    });
    await settled(h);
    const detail = await record(d2);
    expect(detail.record).toMatchObject({
      status: 'acknowledged',
      statusLabel: 'Acknowledged',
      response: 'I am safe',
      // The failures are outranked, not forgotten.
      flags: ['complaint', 'permanent_bounce'],
    });
    expect(detail.timeline.map((e) => e.status)).toEqual(['failed', 'acknowledged', 'failed']);
    expect((await list(c)).counts).toEqual(counts({ pending: 1, delivered: 1, acknowledged: 1 }));
  });

  it('completes a record whose event arrived before RecipientsAdded', async () => {
    const [early] = ids('c', 1) as [string];
    const [e1, e2] = ids('d', 2) as [string, string];
    await publishEvent(h, {
      eventId: `provider:simulator:sev_${rand()}`,
      deliveryId: e1,
      communicationId: early,
      attempt: 1,
      status: DeliveryStatus.DELIVERY_STATUS_DELIVERED,
    });
    const first = await eventually(() => record(e1));
    expect(first.record).toMatchObject({ status: 'delivered', recipientName: '', address: '' });

    await publishRecipients(h, early, [
      { id: e1, channel: 'sms', name: 'Early Example', address: '+61400001234' },
      { id: e2, channel: 'email', name: 'Late Example', address: 'late@example.test' },
    ]);
    await eventually(async () => {
      const page = await list(early);
      expect(page.records.map((r) => [r.id, r.channel, r.recipientName, r.address, r.status])).toEqual([
        [e1, 'sms', 'Early Example', '+61400001234', 'delivered'],
        [e2, 'email', 'Late Example', 'late@example.test', 'pending'],
      ]);
      expect(page.counts).toEqual(counts({ pending: 1, delivered: 1 }));
    });
  });

  it('dead-letters an undecodable message and goes on with the next', async () => {
    const [cx] = ids('c', 1) as [string];
    const [dx] = ids('d', 1) as [string];
    const garbage = new TextEncoder().encode('not a protobuf message');
    const s = subjects(h.ns);
    const partitioned = `${s.deliveryEventsFrom('provider').slice(0, -1)}3.none`;
    await publishDurable(h.nats.js, partitioned, garbage, `garbage:${rand()}`);
    // Decodes, but names no status: can never be applied either.
    await publishEvent(h, {
      eventId: `provider:simulator:sev_${rand()}`,
      deliveryId: dx,
      communicationId: cx,
      attempt: 1,
      status: DeliveryStatus.DELIVERY_STATUS_UNSPECIFIED,
    });
    await publishEvent(h, {
      eventId: `provider:simulator:sev_${rand()}`,
      deliveryId: dx,
      communicationId: cx,
      attempt: 1,
      status: DeliveryStatus.DELIVERY_STATUS_SENT,
    });
    await eventually(async () => expect((await record(dx)).record.status).toBe('sent'));
    await settled(h);

    const dlq = streamNames(h.ns).deadLetter;
    const parked = await eventually(async () => {
      const info = await h.nats.jsm.streams.info(dlq, { subjects_filter: s.deadLetter('>') });
      expect(Object.values(info.state.subjects ?? {}).reduce((a, b) => a + b, 0)).toBe(2);
      return info.state;
    });
    const messages = await Promise.all(
      Array.from({ length: parked.last_seq - parked.first_seq + 1 }, (_, i) =>
        h.nats.jsm.streams.getMessage(dlq, { seq: parked.first_seq + i }),
      ),
    );
    const text = (m: (typeof messages)[number]) => new TextDecoder().decode(m?.data);
    const routed = messages.filter((m) => text(m) === 'not a protobuf message');
    expect(routed.map((m) => [m?.subject, m?.header.get('Dlr-Original-Subject')])).toEqual([
      [s.deadLetter(reportingPartitionConsumer(3)), s.reportingWork(3, 'event')],
    ]);
    expect(routed.every((m) => /undecodable/.test(m?.header.get('Dlr-Reason') ?? ''))).toBe(true);
    const unspecified = messages.find((m) => m !== undefined && !routed.includes(m));
    expect(unspecified?.subject).toBe(s.deadLetter(reportingPartitionConsumer(partitionOf(dx))));
    expect((await record(dx)).timeline).toHaveLength(1);
  });

  /** Adds one record, publishes a Delivered event for it on `subjectOf(record)`, waits until it shows. */
  async function deliveredOn(subjectOf: (deliveryId: string) => string): Promise<{ cx: string; dx: string }> {
    const [cx] = ids('c', 1) as [string];
    const [dx] = ids('d', 1) as [string];
    await publishRecipients(h, cx, [{ id: dx, channel: 'email', name: 'Ed Example', address: 'ed@example.test' }]);
    const event = {
      eventId: `provider:simulator:sev_${rand()}`,
      deliveryId: dx,
      communicationId: cx,
      attempt: 1,
      status: DeliveryStatus.DELIVERY_STATUS_DELIVERED,
    };
    await publishEvent(h, event, event.eventId, subjectOf(dx));
    await eventually(async () => expect((await record(dx)).record.status).toBe('delivered'));
    await settled(h);
    return { cx, dx };
  }

  it('moves an event published with another partition in its subject to its own partition', async () => {
    const from = subjects(h.ns).deliveryEventsFrom('provider').slice(0, -1);
    const { cx, dx } = await deliveredOn((id) => `${from}${(partitionOf(id) + 1) % REPORTING_PARTITIONS}.none`);
    expect((await record(dx)).timeline).toHaveLength(1);
    expect((await list(cx)).counts).toEqual(counts({ delivered: 1 }));
  });
});

describe('REST API', () => {
  const [c] = ids('c', 1) as [string];
  const deliveries = ids('d', 23);

  beforeAll(async () => {
    await publishRecipients(
      h,
      c,
      deliveries.map((id, i) => ({
        id,
        channel: i % 2 === 0 ? 'email' : 'sms',
        name: i === 0 ? '<script>alert("x")</script> & Co' : `Person ${i}`,
        address: i % 2 === 0 ? `p${i}@example.test` : `+6140000${String(i).padStart(4, '0')}`,
      })),
    );
    await eventually(async () => {
      const page = await list(c, '?limit=1000');
      expect(page.total).toBe(deliveries.length);
      expect(page.records).toHaveLength(deliveries.length);
    });
  });

  it('pages through every record exactly once with the cursor', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page: ListJson = await list(c, `?limit=5${cursor ? `&cursor=${cursor}` : ''}`);
      expect(page.total).toBe(23);
      expect(page.counts).toEqual(counts({ pending: 23 }));
      expect(page.records.length).toBeLessThanOrEqual(5);
      seen.push(...page.records.map((r) => r.id));
      cursor = page.nextCursor;
      pages += 1;
    } while (cursor !== null && pages < 20);
    expect(pages).toBe(5);
    expect(seen).toEqual([...deliveries].sort());
    expect(new Set(seen).size).toBe(23);
  });

  it('answers 400 with a clear message for a bad limit or cursor', async () => {
    for (const [query, field] of [
      ['?limit=0', 'limit'],
      ['?limit=1001', 'limit'],
      ['?limit=ten', 'limit'],
      ['?limit=1.5', 'limit'],
      ['?limit=5&limit=6', 'limit'],
      ['?cursor=***', 'cursor'],
      [`?cursor=${Buffer.from('not an id!').toString('base64url')}`, 'cursor'],
    ] as const) {
      const { status, body } = await getJson<ErrorJson>(h, `/api/v1/communications/${c}/delivery-records${query}`);
      expect(status, query).toBe(400);
      expect(body.error).toBe('invalid_argument');
      expect(body.message).toContain(field);
    }
    expect((await getJson<ErrorJson>(h, '/api/v1/communications/bad%20id/delivery-records')).status).toBe(400);
  });

  it('answers an unknown communication with no records and an unknown record with 404', async () => {
    const empty = await list(`c_${rand()}`);
    expect(empty).toMatchObject({ total: 0, records: [], nextCursor: null, counts: counts({}) });
    const missing = await getJson<ErrorJson>(h, `/api/v1/delivery-records/d_${rand()}`);
    expect(missing.status).toBe(404);
    expect(missing.body.error).toBe('not_found');
  });

  it('serves an HTML Delivery Report that escapes what it shows', async () => {
    const response = await fetch(`${h.httpUrl}/communications/${c}`, { headers: AUTH });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await response.text();
    expect(html).toContain(`<a class="button" id="refresh" href="/communications/${c}">Refresh List</a>`);
    expect(html).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; Co');
    expect(html).not.toContain('<script>');
    expect(html).toMatch(/Pending<\/span><\/a> <strong>23<\/strong>/);
    for (const id of deliveries) expect(html).toContain(`<code>${id}</code>`);
  });

  it('returns the same records over gRPC', async () => {
    const client = grpcClient(h);
    const call = promisify<ListDeliveryRecordsRequest, ListDeliveryRecordsResponse>(
      client.listDeliveryRecords.bind(client),
    );
    try {
      const seen: string[] = [];
      let pageToken = '';
      do {
        const page = await call(
          ListDeliveryRecordsRequest.fromPartial({ communicationId: c, pageSize: 10, pageToken }),
        );
        expect(page.total).toBe(23);
        expect(page.counts).toHaveLength(10);
        expect(page.counts.find((x) => x.status === DeliveryStatus.DELIVERY_STATUS_PENDING)?.count).toBe(23);
        seen.push(...page.records.map((r) => r.id));
        pageToken = page.nextPageToken;
      } while (pageToken !== '');
      expect(seen).toEqual([...deliveries].sort());

      const rest = await list(c, '?limit=3');
      const grpc = await call(
        ListDeliveryRecordsRequest.fromPartial({ communicationId: c, pageSize: 3, pageToken: '' }),
      );
      expect(grpc.nextPageToken).toBe(rest.nextCursor);
      expect(
        grpc.records.map((r) => [r.id, r.recipientName, r.address, r.status, r.attempt, r.updatedAt?.toISOString()]),
      ).toEqual(
        rest.records.map((r) => [
          r.id,
          r.recipientName,
          r.address,
          DeliveryStatus.DELIVERY_STATUS_PENDING,
          0,
          r.updatedAt,
        ]),
      );

      await expect(
        call(ListDeliveryRecordsRequest.fromPartial({ communicationId: c, pageSize: 5_000, pageToken: '' })),
      ).rejects.toMatchObject({
        code: grpcStatus.INVALID_ARGUMENT,
        details: expect.stringContaining('limit'),
      });
    } finally {
      client.close();
    }
  });
});
