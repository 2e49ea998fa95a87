import { randomBytes } from 'node:crypto';
import { credentials, status, type ServiceError } from '@grpc/grpc-js';
import { jetstream } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  Channel,
  CommunicationServiceClient,
  CommunicationState,
  ListCommunicationsRequest,
  RecipientsAdded,
  SendRequested,
  streamNames,
  subjects,
} from '@dlr/contracts';
import { bearerInterceptor, startService, type RunningService } from '@dlr/platform';
import { communicationClient, eventually, type CommunicationApi } from '@dlr/testing';
import { serviceOptions } from './helpers.js';

// An operator of the sender role drives it (SERVICE_TOKEN is a viewer: services only read each other).
const SENDER_TOKEN = 'test-sender-token-0123456789';

const ns = `t${randomBytes(4).toString('hex')}`;
let service: RunningService<unknown>;
let api: CommunicationApi;
let nc: NatsConnection;

async function grpcError(p: Promise<unknown>): Promise<ServiceError> {
  try {
    await p;
  } catch (e) {
    return e as ServiceError;
  }
  throw new Error('expected the call to fail');
}

async function readSubject<T>(
  subject: string,
  stream: string,
  decode: (b: Uint8Array) => T,
  expected: number,
): Promise<T[]> {
  const js = jetstream(nc);
  const consumer = await js.consumers.get(stream, { filter_subjects: [subject] });
  const out: T[] = [];
  const deadline = Date.now() + 10_000;
  while (out.length < expected && Date.now() < deadline) {
    const batch = await consumer.fetch({ max_messages: 1_000, expires: 1_000 });
    for await (const m of batch) out.push(decode(m.data));
  }
  // One more short fetch proves nothing beyond `expected` arrived.
  const extra = await consumer.fetch({ max_messages: 100, expires: 1_000 });
  for await (const m of extra) out.push(decode(m.data));
  return out;
}

beforeAll(async () => {
  service = await startService(
    serviceOptions(
      { db: `t_${ns}`, namespace: ns },
      { OPERATOR_SENDER_TOKEN: SENDER_TOKEN, PHONE_DEFAULT_REGION: 'AU' },
    ),
  );
  api = communicationClient(`127.0.0.1:${service.grpcPort}`, SENDER_TOKEN);
  nc = await connect({ servers: process.env.NATS_URL! });
});

afterAll(async () => {
  api?.close();
  await nc?.close();
  await service?.stop();
});

const content = {
  title: 'Flood warning',
  emailSubject: 'Flood warning: move to higher ground',
  emailBody: 'The river is rising. Move to higher ground now.',
  smsText: 'Flood warning: move to higher ground now.',
  channels: [Channel.CHANNEL_EMAIL, Channel.CHANNEL_SMS],
  acknowledgementRequested: true,
  responseOptions: [],
};

describe('communication service over gRPC', () => {
  it('refuses an invalid communication, listing every problem', async () => {
    const err = await grpcError(api.create({ ...content, title: '', smsText: '' }));
    expect(err.code).toBe(status.INVALID_ARGUMENT);
    expect(err.details).toContain('title: is required');
    expect(err.details).toContain('sms_text: is required for the sms channel');
  });

  it('refuses calls without the service token or an operator token (UNAUTHENTICATED), creating nothing', async () => {
    const anonymous = communicationClient(`127.0.0.1:${service.grpcPort}`, 'not-a-token-0123456789');
    try {
      const err = await grpcError(anonymous.create({ ...content, title: 'Not allowed' }));
      expect(err.code).toBe(status.UNAUTHENTICATED);
      expect(err.details).toBe('the token is not valid');
    } finally {
      anonymous.close();
    }
    const listed = await new Promise<{ communications: { title: string }[] }>((resolve, reject) => {
      const client = new CommunicationServiceClient(`127.0.0.1:${service.grpcPort}`, credentials.createInsecure(), {
        interceptors: [bearerInterceptor(SENDER_TOKEN)],
      });
      client.listCommunications(ListCommunicationsRequest.fromPartial({ pageSize: 100 }), (e, r) => {
        client.close();
        if (e) reject(e);
        else resolve(r);
      });
    });
    expect(listed.communications.map((x) => x.title)).not.toContain('Not allowed');
  });

  it('will not start with REPORTING_GRPC_URL but no SERVICE_TOKEN (reporting would refuse every resend)', async () => {
    await expect(
      startService(serviceOptions({ db: `t_${ns}`, namespace: ns }, { REPORTING_GRPC_URL: '127.0.0.1:50052' })),
    ).rejects.toThrow("SERVICE_TOKEN: required with REPORTING_GRPC_URL (reporting's gRPC refuses calls without it)");
  });

  it('answers NOT_FOUND for an unknown communication', async () => {
    const err = await grpcError(api.get({ id: 'c_nope' }));
    expect(err.code).toBe(status.NOT_FOUND);
  });

  it('creates, adds recipients idempotently, announces them, and sends each delivery once', async () => {
    const created = await api.create(content);
    const id = created.communication!.id;
    expect(created.communication!.state).toBe(CommunicationState.COMMUNICATION_STATE_DRAFT);

    const err = await grpcError(api.send({ communicationId: id }));
    expect(err.code).toBe(status.FAILED_PRECONDITION);

    const rows = [
      { externalId: '', name: 'Ann', email: 'ann@example.org', phone: '+61400000001' },
      { externalId: '', name: 'Bob', email: 'bob@example.org', phone: '' },
      { externalId: 'r-3', name: 'Cat', email: '', phone: '+61400000003' },
    ];
    const bad = await grpcError(
      api.addRecipients({
        communicationId: id,
        recipients: [...rows, { externalId: '', name: 'X', email: 'x', phone: '' }],
      }),
    );
    expect(bad.code).toBe(status.INVALID_ARGUMENT);
    expect(bad.details).toContain('recipients[3].email: not a valid email address');

    const first = await api.addRecipients({ communicationId: id, recipients: rows });
    expect(first.createdCount).toBe(4);
    const again = await api.addRecipients({ communicationId: id, recipients: rows });
    expect(again.createdCount).toBe(0);
    expect(again.deliveries.map((d) => d.deliveryId)).toEqual(first.deliveries.map((d) => d.deliveryId));
    expect((await api.get({ id })).communication!.deliveryCount).toBe(4);

    const s = subjects(ns);
    const names = streamNames(ns);
    const added = await readSubject(s.recipientsAdded, names.communication, (b) => RecipientsAdded.decode(b), 1);
    // The identical retry was deduplicated by its Nats-Msg-Id.
    expect(added).toHaveLength(1);
    expect(added[0]!.deliveries.map((d) => d.deliveryId).sort()).toEqual(
      first.deliveries.map((d) => d.deliveryId).sort(),
    );

    const sent = await api.send({ communicationId: id });
    expect([CommunicationState.COMMUNICATION_STATE_SENDING, CommunicationState.COMMUNICATION_STATE_SENT]).toContain(
      sent.communication!.state,
    );
    await api.send({ communicationId: id }); // idempotent

    const requests = await readSubject(s.sendRequested, names.dispatch, (b) => SendRequested.decode(b), 4);
    expect(requests.map((r) => r.deliveryId).sort()).toEqual(first.deliveries.map((d) => d.deliveryId).sort());
    expect(requests.every((r) => r.attempt === 1 && r.content?.acknowledgementRequested === true)).toBe(true);
    const sms = requests.find((r) => r.channel === Channel.CHANNEL_SMS && r.recipientName === 'Cat');
    expect(sms?.address).toBe('+61400000003');

    await eventually(
      async () =>
        expect((await api.get({ id })).communication!.state).toBe(CommunicationState.COMMUNICATION_STATE_SENT),
      10_000,
    );

    const late = await grpcError(api.addRecipients({ communicationId: id, recipients: rows }));
    expect(late.code).toBe(status.FAILED_PRECONDITION);
  });

  it('reads national phone numbers in PHONE_DEFAULT_REGION as E.164 and refuses unallocated ones', async () => {
    const id = (await api.create(content)).communication!.id;
    const intl = await api.addRecipients({
      communicationId: id,
      recipients: [{ externalId: '', name: 'Nat', email: '', phone: '+61 400 000 077' }],
    });
    // The national spelling is the same number, hence the same recipient and delivery record.
    const national = await api.addRecipients({
      communicationId: id,
      recipients: [{ externalId: '', name: 'Nat', email: '', phone: '0400 000 077' }],
    });
    expect(national.createdCount).toBe(0);
    expect(national.deliveries.map((d) => d.deliveryId)).toEqual(intl.deliveries.map((d) => d.deliveryId));
    const bad = await grpcError(
      api.addRecipients({
        communicationId: id,
        recipients: [
          { externalId: '', name: 'Us', email: '', phone: '+1 555 123 9991' },
          { externalId: '', name: 'Short', email: '', phone: '0400 12' },
        ],
      }),
    );
    expect(bad.code).toBe(status.INVALID_ARGUMENT);
    expect(bad.details).toContain('recipients[0].phone: not an allocated number range of +1');
    expect(bad.details).toContain('recipients[1].phone: not an allocated number range of +61');
    expect((await api.get({ id })).communication!.deliveryCount).toBe(1);
  });
});
