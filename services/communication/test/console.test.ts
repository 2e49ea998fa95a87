import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeliveryStatus } from '@dlr/contracts';
import { eventually } from '@dlr/testing';
import { OPERATOR_TOKEN, sendRequests, startHarness, type Harness } from './helpers.js';

let h: Harness;
let base: string;
const auth = { authorization: `Bearer ${OPERATOR_TOKEN}` };

beforeAll(async () => {
  h = await startHarness('commconsole');
  base = h.service.httpUrl;
});
afterAll(async () => {
  await h?.stop();
});

async function get(path: string, headers: Record<string, string> = auth) {
  const res = await fetch(`${base}${path}`, { headers: { accept: 'text/html', ...headers }, redirect: 'manual' });
  return { status: res.status, location: res.headers.get('location'), html: await res.text(), headers: res.headers };
}

async function post(path: string, form: Record<string, string | string[]> | FormData) {
  let body: URLSearchParams | FormData;
  if (form instanceof FormData) body = form;
  else {
    body = new URLSearchParams();
    for (const [k, v] of Object.entries(form)) for (const value of [v].flat()) body.append(k, value);
  }
  const res = await fetch(`${base}${path}`, { method: 'POST', headers: auth, body, redirect: 'manual' });
  return { status: res.status, location: res.headers.get('location'), html: await res.text() };
}

const newCommunication = {
  title: 'Storm <b>warning</b>',
  channels: ['email', 'sms'],
  email_subject: 'Severe storm',
  email_body: 'Stay indoors.',
  sms_text: 'Severe storm: stay indoors.',
  acknowledgement_requested: 'yes',
  response_options: 'Safe\nNeed help',
};

async function create(): Promise<string> {
  const res = await post('/console/communications', newCommunication);
  expect(res.status).toBe(303);
  return /\/console\/communications\/(c_[A-Za-z0-9_-]+)/.exec(res.location!)![1]!;
}

describe('operator console', () => {
  it('is for signed-in operators only; health checks stay open', async () => {
    const anonymous = await get('/console', {});
    expect(anonymous.status).toBe(303);
    expect(anonymous.location).toBe('/sign-in?next=%2Fconsole');
    const api = await fetch(`${base}/console/communications`, { method: 'POST' });
    expect(api.status).toBe(401);
    // No route for that method, nothing to protect: 405 with the methods the path has, before any sign-in.
    const post = await fetch(`${base}/console`, { method: 'POST' });
    expect([post.status, post.headers.get('allow')]).toEqual([405, 'GET, HEAD']);
    expect((await fetch(`${base}/healthz`)).status).toBe(200);

    const signIn = await fetch(`${base}/sign-in`, {
      method: 'POST',
      body: new URLSearchParams({ token: OPERATOR_TOKEN, next: '/console' }),
      redirect: 'manual',
    });
    expect(signIn.status).toBe(303);
    const cookie = signIn.headers.get('set-cookie')!.split(';')[0]!;
    const page = await get('/console', { cookie });
    expect(page.status).toBe(200);
    expect(page.html).toContain('<h1>Communications</h1>');
    expect(page.headers.get('cache-control')).toBe('no-store');
  });

  it('creates a draft from the form (escaped), and shows every problem of a bad one', async () => {
    const bad = await post('/console/communications', { ...newCommunication, title: '', sms_text: '' });
    expect(bad.status).toBe(400);
    expect(bad.html).toContain('title: is required');
    expect(bad.html).toContain('sms_text: is required for the sms channel');
    expect(bad.html).toContain('Stay indoors.'); // what was typed is kept

    const id = await create();
    const page = await get(`/console/communications/${id}?done=created`);
    expect(page.html).toContain('Storm &lt;b&gt;warning&lt;/b&gt;');
    expect(page.html).not.toContain('<b>warning</b>');
    expect(page.html).toContain('Draft created.');
    expect(page.html).toContain(`href="https://reports.example.org/communications/${id}"`);
  });

  it('adds pasted recipients only when every row is valid, listing each bad row', async () => {
    const id = await create();
    const csv = [
      'name,email,phone,opt_out',
      'Ann,ann@example.org,+61400000001,',
      'Bob,bob@example,,',
      'Cat,cat@example.org,+61400000003,sms',
    ].join('\n');
    const bad = await post(`/console/communications/${id}/recipients`, { csv });
    expect(bad.status).toBe(400);
    expect(bad.html).toContain('No recipients were added: 1 problem(s)');
    expect(bad.html).toMatch(/<td>3<\/td><td>email<\/td><td>not a valid email address<\/td>/);
    expect(bad.html).toContain('Cat,cat@example.org'); // the paste is kept for fixing
    expect((await h.api.getCommunication({ id })).communication!.deliveryCount).toBe(0);

    const good = await post(`/console/communications/${id}/recipients`, {
      csv: csv.replace('bob@example,', 'bob@example.org,'),
    });
    expect(good.status).toBe(303);
    expect(good.location).toBe(`/console/communications/${id}?added=3`);
    expect((await h.api.getCommunication({ id })).communication!.deliveryCount).toBe(5);

    // The same recipients as an uploaded CSV file: idempotent, nothing new.
    const upload = new FormData();
    upload.append('csv', '');
    upload.append(
      'file',
      new Blob([csv.replace('bob@example,', 'bob@example.org,')], { type: 'text/csv' }),
      'people.csv',
    );
    const uploaded = await post(`/console/communications/${id}/recipients`, upload);
    expect(uploaded.status).toBe(303);
    expect((await h.api.getCommunication({ id })).communication!.deliveryCount).toBe(5);
  });

  it('previews, overrides with an audit record, sends, resends once per form, and shows the history', async () => {
    const id = await create();
    await post(`/console/communications/${id}/recipients`, {
      csv: 'external_id,name,email,phone,opt_out\np-1,Ann,ann@example.org,+61400000001,sms\np-2,Bob,bob@example.org,,',
    });
    const preview = await get(`/console/communications/${id}/preview`);
    expect(preview.status).toBe(200);
    expect(preview.html).toContain('Not sent: opted out by preference');
    expect(preview.html).toContain('Not sent: no address');
    expect(preview.html).not.toContain('The suppression list could not be consulted');
    expect(preview.html).toMatch(/<strong>1 segment<\/strong>[^]*GSM-7/);
    // Each recipient's message, as it will be sent, one link away.
    const messageLink = /href="(\/console\/communications\/[^"]+\/preview\?recipient=[^"#]+)/.exec(preview.html)![1]!;
    const message = await get(messageLink.replaceAll('&amp;', '&'));
    expect(message.status).toBe(200);
    expect(message.html).toMatch(/<h2 id="message-h">Message to (Ann|Bob|Cat)<\/h2>/);
    expect(message.html).toContain('Stay indoors.');

    const noReason = await post(`/console/communications/${id}/override`, { operator: 'Lee', reason: '' });
    expect(noReason.status).toBe(400);
    expect(noReason.html).toContain('reason: is required');
    const override = await post(`/console/communications/${id}/override`, {
      operator: 'Lee',
      reason: 'Flash flooding',
    });
    expect(override.status).toBe(303);
    const overridden = await get(`/console/communications/${id}/preview`);
    expect(overridden.html).toContain('Will be sent: preference overridden');
    expect(overridden.html).toContain('by Lee at');
    expect(overridden.html).toContain('Flash flooding');

    // Without the confirmation step's field, Send only shows the confirmation.
    const unconfirmed = await post(`/console/communications/${id}/send`, {});
    expect(unconfirmed.status).toBe(200);
    expect(unconfirmed.html).toContain('Confirm: send now');
    expect((await post(`/console/communications/${id}/send`, { confirm: 'yes' })).status).toBe(303);
    const sentPage = await eventually(async () => {
      const p = await get(`/console/communications/${id}`);
      expect(p.html).toContain('<h2 id="resend-h">Resend</h2>');
      return p;
    });
    const requestId = /name="request_id" value="([^"]+)"/.exec(sentPage.html)![1]!;
    const records = (await sendRequests(h)).filter((r) => r.communicationId === id);
    expect(records).toHaveLength(3); // Ann email + Ann SMS (overridden) + Bob email
    for (const r of records)
      h.board.set(r.deliveryId, { communicationId: id, status: DeliveryStatus.DELIVERY_STATUS_SENT });

    const form = { request_id: requestId, scope: 'not_delivered', operator: 'Lee' };
    const first = await post(`/console/communications/${id}/resend`, form);
    expect(first.status).toBe(303);
    const twice = await post(`/console/communications/${id}/resend`, form); // a double-submitted form
    expect(twice.status).toBe(303);
    // The resend runs in the background: its page shows the progress, then the result.
    await eventually(async () => {
      const result = await get(first.location!);
      expect(result.html).toContain('finished: 3 delivery record(s) got a new attempt.');
    });
    const attempts = (await sendRequests(h)).filter((r) => r.communicationId === id).map((r) => r.attempt);
    expect(attempts.sort()).toEqual([1, 1, 1, 2, 2, 2]);

    const late = await post(`/console/communications/${id}/recipients`, { csv: 'Dan,dan@example.org' });
    expect(late.status).toBe(409);
    expect(late.html).toContain('recipients can only be added to a draft');

    const history = await get(`/console/recipients?key=${encodeURIComponent('x:p-1')}`);
    expect(history.html).toContain('Sent (attempt 2)');
    expect(history.html).toContain(`/console/communications/${id}`);
    const badKey = await get(`/console/recipients?key=${'x'.repeat(700)}`);
    expect(badKey.status).toBe(400);
  });

  it('answers an unknown communication with a 404 page', async () => {
    const res = await get('/console/communications/c_missing');
    expect(res.status).toBe(404);
    expect(res.html).toContain('communication c_missing not found');
  });
});
