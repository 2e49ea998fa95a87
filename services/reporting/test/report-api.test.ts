// The reports' REST API, HTML, live updates and gRPC stream, against real NATS and a real
// MongoDB-compatible server: filters, Copy IDs, CSV, the Message Delivery Report, OpenAPI, sign-in.
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { status as grpcStatus } from '@grpc/grpc-js';
import {
  DeliveryStatus,
  ListDeliveryRecordsRequest,
  WatchDeliveryRecordsRequest,
  type WatchDeliveryRecordsResponse,
} from '@dlr/contracts';
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
  startReporting,
  TEST_SERVICE_TOKEN,
  type ErrorJson,
  type Harness,
  type ListJson,
} from './helpers.js';

let h: Harness;
const run = rand(6);
const c = `c_rep${run}`;
const id = (i: number) => `d_rep${run}${String(i).padStart(3, '0')}`;
const N = 12;

async function get(path: string, headers: Record<string, string> = AUTH): Promise<Response> {
  return fetch(`${h.httpUrl}${path}`, { headers, redirect: 'manual' });
}

beforeAll(async () => {
  h = await startReporting();
  await publishRecipients(
    h,
    c,
    Array.from({ length: N }, (_, i) => ({
      id: id(i),
      channel: i % 2 === 0 ? ('email' as const) : ('sms' as const),
      // One recipient whose name a spreadsheet would run as a formula.
      name: i === 3 ? '=HYPERLINK("http://x","y")' : `Person ${i}`,
      address: i % 2 === 0 ? `person${i}@example.test` : `+6140000${String(i).padStart(4, '0')}`,
    })),
  );
  // 0..3 delivered, 4..5 failed, 6 responded "Safe", 7 responded "Need help"; the rest Pending.
  for (let i = 0; i < 8; i += 1) {
    const d = id(i);
    await publishEvent(h, {
      eventId: `dispatch:${d}:1:sent`,
      deliveryId: d,
      communicationId: c,
      status: DeliveryStatus.DELIVERY_STATUS_SENT,
      attempt: 1,
      source: 'dispatch',
    });
    const final = i < 4 || i >= 6 ? DeliveryStatus.DELIVERY_STATUS_DELIVERED : DeliveryStatus.DELIVERY_STATUS_FAILED;
    await publishEvent(h, {
      eventId: `provider:sim:${d}:final`,
      deliveryId: d,
      communicationId: c,
      status: final,
      attempt: 1,
      reasonCode: final === DeliveryStatus.DELIVERY_STATUS_FAILED ? 'permanent_bounce' : '',
    });
  }
  for (const [i, answer] of [
    [6, 'Safe'],
    [7, 'Need help'],
  ] as const) {
    await publishEvent(h, {
      eventId: `feedback:${id(i)}:respond`,
      deliveryId: id(i),
      communicationId: c,
      status: DeliveryStatus.DELIVERY_STATUS_RESPONDED,
      attempt: 0,
      source: 'feedback',
      response: answer,
    });
  }
  await eventually(async () => {
    const { body } = await getJson<ListJson>(h, `/api/v1/communications/${c}/delivery-records`);
    expect(body.counts).toEqual(counts({ pending: 4, delivered: 4, failed: 2, responded: 2 }));
  }, 30_000);
});

afterAll(async () => {
  await h?.stop();
});

describe('operator sign-in', () => {
  it('refuses the API without a token, and a wrong token, with 401 JSON', async () => {
    for (const headers of [
      {},
      { authorization: 'Bearer wrong-token-wrong-token' },
      { authorization: 'Basic abc' },
    ] as Record<string, string>[]) {
      const res = await get(`/api/v1/communications/${c}/delivery-records`, headers);
      expect(res.status).toBe(401);
      expect(((await res.json()) as ErrorJson).error).toBe('unauthenticated');
    }
  });

  it('sends a browser to the sign-in form, and the form sets a session cookie that works', async () => {
    const page = await get(`/communications/${c}`, { accept: 'text/html' });
    expect(page.status).toBe(303);
    expect(page.headers.get('location')).toBe(`/sign-in?next=${encodeURIComponent(`/communications/${c}`)}`);

    const bad = await fetch(`${h.httpUrl}/sign-in`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: 'nope', next: '/x' }).toString(),
      redirect: 'manual',
    });
    expect(bad.status).toBe(401);
    expect(bad.headers.get('set-cookie')).toBeNull();

    const ok = await fetch(`${h.httpUrl}/sign-in`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: AUTH.authorization.slice(7), next: '//evil.example/x' }).toString(),
      redirect: 'manual',
    });
    expect(ok.status).toBe(303);
    expect(ok.headers.get('location')).toBe('/'); // never another host
    const cookie = ok.headers.get('set-cookie')!;
    expect(cookie).toMatch(/^dlr_operator=[A-Za-z0-9_-]+\.[^;]+;/);
    expect(cookie.split('; ').slice(1)).toEqual(
      expect.arrayContaining(['Path=/', 'HttpOnly', 'SameSite=Strict', 'Max-Age=43200']),
    );
    expect(cookie).not.toMatch(/Secure/); // http://127.0.0.1: no PUBLIC_BASE_URL with https
    const withCookie = await get(`/communications/${c}`, { cookie: cookie.split(';')[0]! });
    expect(withCookie.status).toBe(200);

    const forged = await get(`/communications/${c}`, { cookie: `${cookie.split(';')[0]!.slice(0, -2)}xx` });
    expect(forged.status).toBe(401);
  });

  it('keeps /healthz open', async () => {
    expect((await get('/healthz', {})).status).toBe(200);
  });
});

describe('Delivery Report API', () => {
  it('filters by status, channel, response and recipient, with counts per response', async () => {
    const list = async (query: string) => {
      const { status, body } = await getJson<ListJson & { matching: number | null; responses: Record<string, number> }>(
        h,
        `/api/v1/communications/${c}/delivery-records${query}`,
      );
      expect(status, query).toBe(200);
      return body;
    };
    const all = await list('');
    expect(all.total).toBe(N);
    expect(all.responses).toEqual({ Safe: 1, 'Need help': 1 });

    const failed = await list('?status=failed');
    expect(failed.records.map((r) => r.id)).toEqual([id(4), id(5)]);
    expect(failed.matching).toBe(2);
    expect(failed.records[0]).toMatchObject({ statusLabel: 'Failed', reasonCode: 'permanent_bounce' });

    const emailDelivered = await list('?status=delivered&status=pending&channel=email');
    expect(emailDelivered.records.map((r) => r.id)).toEqual([id(0), id(2), id(8), id(10)]);
    expect(emailDelivered.matching).toBe(4);

    const safe = await list('?response=Safe');
    expect(safe.records.map((r) => r.id)).toEqual([id(6)]);

    const search = await list('?q=PERSON%201');
    expect(search.records.map((r) => r.id)).toEqual([id(1), id(10), id(11)]);
    expect(search.matching).toBeNull();
    // Regex characters are matched literally, never as a pattern.
    expect((await list('?q=.*')).records).toEqual([]);
    expect((await list(`?q=${encodeURIComponent('+6140000')}`)).records).toHaveLength(N / 2);

    // Cursor paging through a filter.
    const first = await list('?status=pending&limit=3');
    expect(first.records).toHaveLength(3);
    const second = await list(`?status=pending&limit=3&cursor=${first.nextCursor}`);
    expect(second.records.map((r) => r.id)).toEqual([id(11)]);
    expect(second.nextCursor).toBeNull();
  });

  it('rejects unknown parameters, unknown values and operator objects with 400 and changes nothing', async () => {
    for (const [query, word] of [
      ['?stauts=failed', 'stauts'],
      ['?status=lost', 'status'],
      ['?channel=fax', 'channel'],
      ['?status[$ne]=failed', 'status[$ne]'],
      ['?response[$gt]=', 'response[$gt]'],
      [`?q=${'x'.repeat(101)}`, 'q'],
    ] as const) {
      const { status, body } = await getJson<ErrorJson>(h, `/api/v1/communications/${c}/delivery-records${query}`);
      expect(status, query).toBe(400);
      expect(body.error).toBe('invalid_argument');
      expect(body.message, query).toContain(word);
    }
  });

  it('Copy IDs returns every matching ID (not only a page); CSV exports the filtered rows safely', async () => {
    const ids = await get(`/api/v1/communications/${c}/delivery-record-ids?channel=sms`);
    expect(ids.status).toBe(200);
    expect((await ids.text()).trim().split('\n')).toEqual([1, 3, 5, 7, 9, 11].map(id));

    const csv = await get(`/api/v1/communications/${c}/delivery-records.csv?status=pending&status=delivered`);
    expect(csv.status).toBe(200);
    expect(csv.headers.get('content-type')).toMatch(/^text\/csv/);
    expect(csv.headers.get('content-disposition')).toContain('attachment');
    const lines = (await csv.text()).trimEnd().split('\r\n');
    expect(lines[0]).toMatch(/^id,communication_id,recipient,address,channel,status,/);
    expect(lines.slice(1).map((l) => l.split(',')[0])).toEqual([0, 1, 2, 3, 8, 9, 10, 11].map(id));
    const formula = lines.find((l) => l.startsWith(id(3)))!;
    // The formula is text ('=…), quoted because of its quotes and comma; the phone stays readable.
    expect(formula).toContain(`"'=HYPERLINK(""http://x"",""y"")"`);
    expect(formula).toContain(`'+61400000003`);
  });

  it('serves the HTML report with icons, filters, counts, chart and links, escaping what it shows', async () => {
    const res = await get(`/communications/${c}?status=failed`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-security-policy')).toContain("script-src 'self'");
    const html = await res.text();
    expect(html).toContain(`<tr data-id="${id(4)}" data-status="failed">`);
    expect(html).not.toContain(`data-id="${id(0)}"`);
    expect(html).toContain('<svg class="chart"');
    expect(html).toContain(`href="/reports/messages?communicationId=${c}"`);
    expect(html).toContain(`/api/v1/communications/${c}/delivery-records.csv?status=failed`);
    expect(html).toMatch(/<input type="checkbox" name="status" value="failed" checked>/);
    // Read can be missing (images blocked) or early (prefetching proxies): the report says so.
    expect(html).toMatch(/<p class="read-note" id="read-note">.*missing.*blocked images.*early.*privacy proxy/s);
    const all = await (await get(`/communications/${c}`)).text();
    expect(all).toContain('=HYPERLINK(&quot;http://x&quot;,&quot;y&quot;)');
    expect(all).toMatch(/data-response="Safe"><a [^>]+>Safe<\/a> <strong>1<\/strong>/);
    const timeline = await (await get(`/delivery-records/${id(4)}`)).text();
    expect(timeline).toContain('Failed');
    expect(timeline).toContain('permanent_bounce');
    const script = await get('/assets/report.js');
    expect(script.status).toBe(200);
    expect(script.headers.get('content-type')).toMatch(/javascript/);
  });

  it('documents every /api/v1 route in OpenAPI', async () => {
    const { status, body } = await getJson<{ openapi: string; paths: Record<string, unknown> }>(
      h,
      '/api/v1/openapi.json',
    );
    expect(status).toBe(200);
    expect(body.openapi).toBe('3.1.0');
    expect(Object.keys(body.paths).sort()).toEqual([
      '/api/v1/communications/{id}/delivery-record-ids',
      '/api/v1/communications/{id}/delivery-records',
      '/api/v1/communications/{id}/delivery-records.csv',
      '/api/v1/communications/{id}/live',
      '/api/v1/delivery-records/{id}',
      '/api/v1/message-delivery-report',
      '/api/v1/message-delivery-report.csv',
    ]);
    type Op = {
      parameters: { name: string; in: string; schema: { pattern?: string; maximum?: number } }[];
      responses: Record<string, { content?: Record<string, { schema: Record<string, unknown> }> }>;
    };
    const paths = body.paths as Record<string, { get: Op }>;
    const mdr = paths['/api/v1/message-delivery-report']!.get;
    const param = (name: string) => mdr.parameters.find((p) => p.name === name)?.schema;
    // What the server validates is what it states: date format, cursor pattern, limits.
    expect(param('from')?.pattern).toMatch(/^\^\\d\{4\}-/);
    expect(param('cursor')?.pattern).toBe('^[A-Za-z0-9_-]{1,200}$');
    expect(param('limit')?.maximum).toBeGreaterThan(1);
    expect(Object.keys(mdr.responses)).toEqual(expect.arrayContaining(['200', '400', '401', '405']));
    const live = paths['/api/v1/communications/{id}/live']!.get.responses['200']!.content!['text/event-stream']!;
    expect(live.schema).toMatchObject({
      contentMediaType: 'application/json',
      contentSchema: { required: ['counts', 'total', 'responses', 'records'] },
    });
    expect(paths['/api/v1/communications/{id}/delivery-records.csv']!.get.responses['200']!.content).toHaveProperty(
      'text/csv',
    );
  });

  it('answers 405 with Allow for a method a path does not declare', async () => {
    const res = await fetch(`${h.httpUrl}/api/v1/communications/${c}/delivery-records`, {
      method: 'DELETE',
      headers: AUTH,
    });
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('GET, HEAD');
    expect(((await res.json()) as ErrorJson).error).toBe('method_not_allowed');
    expect((await fetch(`${h.httpUrl}/api/v1/nothing`, { headers: AUTH })).status).toBe(404);
  });
});

describe('Message Delivery Report', () => {
  it('totals per channel × status and pages, filtered by communication, date, channel and status', async () => {
    type Mdr = {
      total: number;
      totals: { channel: string; status: string; count: number }[];
      records: { id: string }[];
      nextCursor: string | null;
    };
    const today = new Date().toISOString().slice(0, 10);
    const byComm = await getJson<Mdr>(h, `/api/v1/message-delivery-report?communicationId=${c}&limit=5`);
    expect(byComm.status).toBe(200);
    expect(byComm.body.total).toBe(N);
    expect(byComm.body.totals).toContainEqual({ channel: 'email', status: 'pending', count: 2 });
    expect(byComm.body.records).toHaveLength(5);

    const dated = await getJson<Mdr>(
      h,
      `/api/v1/message-delivery-report?communicationId=${c}&from=${today}&to=${today}&channel=sms&status=failed`,
    );
    expect(dated.body.records.map((r) => r.id)).toEqual([id(5)]);
    expect(dated.body.totals).toEqual([{ channel: 'sms', status: 'failed', count: 1 }]);

    const past = await getJson<Mdr>(h, `/api/v1/message-delivery-report?communicationId=${c}&to=2000-01-01`);
    expect(past.body).toMatchObject({ total: 0, records: [] });

    const bad = await getJson<ErrorJson>(h, `/api/v1/message-delivery-report?from=2026-02-30`);
    expect(bad.status).toBe(400);
    expect(bad.body.message).toContain('from');

    const html = await (await get(`/reports/messages?communicationId=${c}&from=${today}`)).text();
    expect(html).toContain('<table id="totals">');
    expect(html).toContain(`data-id="${id(0)}"`);
    const csv = await (await get(`/api/v1/message-delivery-report.csv?communicationId=${c}&channel=email`)).text();
    expect(csv.trimEnd().split('\r\n')).toHaveLength(1 + N / 2);
  });
});

describe('live updates', () => {
  it('streams changed records over SSE and gRPC as they change', async () => {
    const target = id(9);
    const controller = new AbortController();
    const sse = await fetch(`${h.httpUrl}/api/v1/communications/${c}/live`, {
      headers: AUTH,
      signal: controller.signal,
    });
    expect(sse.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const reader = sse.body!.getReader();
    let text = '';
    const pump = (async () => {
      for (;;) {
        const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true }));
        if (done) return;
        text += Buffer.from(value).toString('utf8');
      }
    })();

    const client = grpcClient(h);
    const grpcMessages: WatchDeliveryRecordsResponse[] = [];
    const stream = client.watchDeliveryRecords(WatchDeliveryRecordsRequest.fromPartial({ communicationId: c }));
    stream.on('data', (m: WatchDeliveryRecordsResponse) => grpcMessages.push(m));
    stream.on('error', () => undefined);
    await eventually(() => expect(grpcMessages.length).toBeGreaterThan(0));
    expect(grpcMessages[0]!.total).toBe(N);

    await publishEvent(h, {
      eventId: `dispatch:${target}:1:sent`,
      deliveryId: target,
      communicationId: c,
      status: DeliveryStatus.DELIVERY_STATUS_SENT,
      attempt: 1,
      source: 'dispatch',
    });
    await eventually(() => {
      const events = text.split('\n\n').filter((b) => b.includes('event: change'));
      const changed = events.map(
        (b) => JSON.parse(b.split('data: ')[1]!) as { records: { id: string; status: string }[] },
      );
      expect(changed.flatMap((e) => e.records)).toContainEqual(expect.objectContaining({ id: target, status: 'sent' }));
    }, 20_000);
    await eventually(() => {
      expect(grpcMessages.flatMap((m) => m.records)).toContainEqual(
        expect.objectContaining({ id: target, status: DeliveryStatus.DELIVERY_STATUS_SENT }),
      );
    }, 20_000);
    stream.cancel();
    client.close();
    controller.abort();
    await pump;
  });

  it('answers a HEAD of the live stream with its headers and ends it', async () => {
    // node:http, not fetch: fetch resolves on the headers, this waits for the response to end.
    const res = await new Promise<IncomingMessage>((resolve, reject) => {
      const req = httpRequest(`${h.httpUrl}/api/v1/communications/${c}/live`, { method: 'HEAD', headers: AUTH });
      req.setTimeout(5_000, () => req.destroy(new Error('HEAD of the live stream did not end within 5 s')));
      req.on('error', reject);
      req.on('response', (r) => r.on('end', () => resolve(r)).resume());
      req.end();
    });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/event-stream/);
  });

  it('rejects a bad communication ID on the gRPC stream', async () => {
    const client = grpcClient(h);
    const stream = client.watchDeliveryRecords(WatchDeliveryRecordsRequest.fromPartial({ communicationId: 'bad id' }));
    const error = await new Promise<{ code?: number; details?: string }>((resolve) => stream.on('error', resolve));
    expect(error.code).toBe(3); // INVALID_ARGUMENT
    expect(error.details).toContain('communication id');
    client.close();
  });

  it('serves gRPC only to operators and our services: no token or a wrong one is UNAUTHENTICATED', async () => {
    const list = (client: ReturnType<typeof grpcClient>) =>
      new Promise<{ total: number }>((resolve, reject) =>
        client.listDeliveryRecords(ListDeliveryRecordsRequest.fromPartial({ communicationId: c }), (e, r) =>
          e ? reject(e) : resolve(r),
        ),
      );
    const clients = [grpcClient(h, null), grpcClient(h, 'wrong-token-0123456789'), grpcClient(h, TEST_SERVICE_TOKEN)];
    try {
      await expect(list(clients[0]!)).rejects.toMatchObject({ code: grpcStatus.UNAUTHENTICATED });
      await expect(list(clients[1]!)).rejects.toMatchObject({
        code: grpcStatus.UNAUTHENTICATED,
        details: 'the token is not valid',
      });
      const stream = clients[0]!.watchDeliveryRecords(WatchDeliveryRecordsRequest.fromPartial({ communicationId: c }));
      stream.on('data', () => expect.fail('a refused stream sends nothing'));
      const error = await new Promise<{ code?: number }>((resolve) => stream.on('error', resolve));
      expect(error.code).toBe(grpcStatus.UNAUTHENTICATED);
      expect((await list(clients[2]!)).total).toBe(N);
    } finally {
      for (const client of clients) client.close();
    }
  });
});
