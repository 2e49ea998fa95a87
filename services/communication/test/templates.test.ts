// Saved templates over gRPC and the console, on real NATS and the real store: save, list, start a
// communication from one; bad input refused with nothing saved; a viewer lists but cannot save.
import { credentials, status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Channel, CommunicationServiceClient } from '@dlr/contracts';
import { bearerInterceptor } from '@dlr/platform';
import { api, grpcError, OPERATOR_TOKEN, startHarness, type Harness } from './helpers.js';

const VIEWER = 'test-viewer-token-0123456789';

let h: Harness;
let admin: ReturnType<typeof api>;
let viewer: ReturnType<typeof api>;
const clients: CommunicationServiceClient[] = [];

function as(token: string) {
  const client = new CommunicationServiceClient(`127.0.0.1:${h.service.grpcPort}`, credentials.createInsecure(), {
    interceptors: [bearerInterceptor(token)],
  });
  clients.push(client);
  return api(client);
}

beforeAll(async () => {
  h = await startHarness('commtemplates', { OPERATOR_VIEWER_TOKEN: VIEWER });
  admin = as(OPERATOR_TOKEN);
  viewer = as(VIEWER);
});
afterAll(async () => {
  for (const c of clients) c.close();
  await h?.stop();
});

const content = {
  title: 'Flood warning for {{street}}',
  emailSubject: 'Flood warning',
  emailBody: 'Dear {{name}}, move to higher ground now.',
  smsText: 'Flood warning: move to higher ground now.',
  channels: [Channel.CHANNEL_EMAIL, Channel.CHANNEL_SMS],
  acknowledgementRequested: true,
  responseOptions: ['Safe', 'Need help'],
};

describe('templates over gRPC', () => {
  it('saves, lists newest first and starts a communication from a template', async () => {
    const saved = await admin.createTemplate({ name: 'Flood', content });
    expect(saved.template).toMatchObject({ name: 'Flood', createdBy: `token:admin-token` });
    expect(saved.template!.content).toMatchObject({ ...content, templateId: '' });
    const second = await admin.createTemplate({
      name: 'Flood (short)',
      content: { ...content, emailBody: 'Move now.' },
    });

    const list = await viewer.listTemplates({ pageSize: 1, pageToken: '' });
    expect(list.templates.map((t) => t.id)).toEqual([second.template!.id]);
    const next = await viewer.listTemplates({ pageSize: 1, pageToken: list.nextPageToken });
    expect(next.templates.map((t) => t.id)).toEqual([saved.template!.id]);

    const created = await admin.createCommunication({ templateId: saved.template!.id });
    expect(created.communication).toMatchObject({
      title: content.title,
      emailBody: content.emailBody,
      channels: content.channels,
      responseOptions: content.responseOptions,
    });
  });

  it('refuses bad templates and mixed requests with nothing saved; a viewer cannot save', async () => {
    const before = (await admin.listTemplates({ pageSize: 100, pageToken: '' })).templates.length;
    const bad = await grpcError(admin.createTemplate({ name: ' ', content: { ...content, smsText: '{{#x}}y{{/x}}' } }));
    expect(bad.code).toBe(status.INVALID_ARGUMENT);
    expect(bad.details).toContain('name: is required');
    expect(bad.details).toContain('sms_text: "{{#x}}" is not a merge field');
    const denied = await grpcError(viewer.createTemplate({ name: 'Nope', content }));
    expect(denied.code).toBe(status.PERMISSION_DENIED);
    expect((await admin.listTemplates({ pageSize: 100, pageToken: '' })).templates).toHaveLength(before);

    const { template } = await admin.createTemplate({ name: 'Storm', content });
    const mixed = await grpcError(admin.createCommunication({ templateId: template!.id, title: 'Other' }));
    expect(mixed.code).toBe(status.INVALID_ARGUMENT);
    expect(mixed.details).toContain('template_id: leave the content empty');
    const unknown = await grpcError(admin.createCommunication({ templateId: 't_nope' }));
    expect(unknown.code).toBe(status.NOT_FOUND);
  });
});

describe('templates on the console', () => {
  const auth = (token: string) => ({ authorization: `Bearer ${token}` });
  const post = async (path: string, form: Record<string, string | string[]>, token = OPERATOR_TOKEN) => {
    const body = new URLSearchParams();
    for (const [k, v] of Object.entries(form)) for (const value of [v].flat()) body.append(k, value);
    const res = await fetch(`${h.service.httpUrl}${path}`, {
      method: 'POST',
      headers: auth(token),
      body,
      redirect: 'manual',
    });
    return { status: res.status, location: res.headers.get('location'), html: await res.text() };
  };
  const get = async (path: string, token = OPERATOR_TOKEN) => {
    const res = await fetch(`${h.service.httpUrl}${path}`, { headers: auth(token) });
    return { status: res.status, html: await res.text() };
  };
  const form = {
    title: 'Heat <b>alert</b>',
    channels: ['sms'],
    email_subject: '',
    email_body: '',
    sms_text: 'Heat alert for {{street}}: stay cool.',
    acknowledgement_requested: 'yes',
    response_options: '',
  };

  it('saves the new-communication form as a template, lists it, and starts a prefilled form from it', async () => {
    const refused = await post('/console/templates', { ...form, template_name: '' });
    expect(refused.status).toBe(400);
    expect(refused.html).toContain('name: is required');
    expect((await post('/console/templates', { ...form, template_name: 'Heat' }, VIEWER)).status).toBe(403);

    const saved = await post('/console/templates', { ...form, template_name: 'Heat' });
    expect([saved.status, saved.location]).toEqual([303, '/console/templates']);
    const list = await get('/console/templates', VIEWER);
    expect(list.status).toBe(200);
    expect(list.html).toContain('<td>Heat</td><td>Heat &lt;b&gt;alert&lt;/b&gt;</td>');
    const use = /href="(\/console\/communications\/new\?template=t_[^"]+)"/.exec(list.html)![1]!;
    const prefilled = await get(use);
    expect(prefilled.status).toBe(200);
    expect(prefilled.html).toContain('value="Heat &lt;b&gt;alert&lt;/b&gt;"');
    expect(prefilled.html).toContain('Heat alert for {{street}}: stay cool.</textarea>');
    expect((await get('/console/communications/new?template=t_missing')).status).toBe(404);
  });
});
