import { randomBytes } from 'node:crypto';
import { credentials, Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  Channel,
  CommunicationServiceClient,
  streamNames,
  subjects,
  suppressionKey,
  SuppressionLifted,
  type LiftSuppressionRequest,
  type LiftSuppressionResponse,
} from '@dlr/contracts';
import { bearerInterceptor, startService, type RunningService } from '@dlr/platform';
import { OPERATOR_TOKEN, serviceOptions } from './helpers.js';

const ns = `tlift${randomBytes(4).toString('hex')}`;
let service: RunningService<unknown>;
let client: CommunicationServiceClient;
let nc: NatsConnection;
let jsm: JetStreamManager;
let mongo: MongoClient;

const lift = (req: Partial<LiftSuppressionRequest>) =>
  new Promise<LiftSuppressionResponse>((resolve, reject) =>
    client.liftSuppression(
      { channel: Channel.CHANNEL_EMAIL, address: '', operator: '', reason: '', ...req },
      new Metadata(),
      (e: ServiceError | null, r: LiftSuppressionResponse) => (e ? reject(e) : resolve(r)),
    ),
  );

beforeAll(async () => {
  service = await startService(serviceOptions({ db: `t_${ns}`, namespace: ns }, { OPERATOR_TOKEN }));
  client = new CommunicationServiceClient(`127.0.0.1:${service.grpcPort}`, credentials.createInsecure(), {
    interceptors: [bearerInterceptor(OPERATOR_TOKEN)],
  });
  nc = await connect({ servers: process.env.NATS_URL! });
  jsm = await jetstreamManager(nc);
  mongo = await new MongoClient(process.env.MONGODB_URI!).connect();
});

afterAll(async () => {
  client?.close();
  await service?.stop();
  for (const name of Object.values(streamNames(ns))) await jsm?.streams.delete(name).catch(() => false);
  await mongo
    ?.db(`t_${ns}`)
    .dropDatabase()
    .catch(() => undefined);
  await mongo?.close();
  await nc?.close();
});

describe('LiftSuppression', () => {
  it('stores who, when and why (never the address) and tells dispatch', async () => {
    const res = await lift({ address: ' Ada@Example.org ', operator: 'duty-officer-7', reason: 'asked by phone' });
    expect(res.addressKey).toBe(suppressionKey('email', 'ada@example.org'));
    const audit = await mongo
      .db(`t_${ns}`)
      .collection('suppression_lifts')
      .findOne({ _id: res.liftId as never });
    expect(audit).toMatchObject({ operator: 'duty-officer-7', reason: 'asked by phone', channel: 'email' });
    expect(audit!['liftedAt']).toEqual(res.liftedAt);
    expect(JSON.stringify(audit)).not.toMatch(/ada@/i);
    const msg = await jsm.streams.getMessage(streamNames(ns).communication, {
      last_by_subj: subjects(ns).suppressionLifted,
    });
    expect(SuppressionLifted.decode(msg!.data)).toMatchObject({
      liftId: res.liftId,
      addressKey: res.addressKey,
      channel: Channel.CHANNEL_EMAIL,
      operator: 'duty-officer-7',
    });
  });

  it('refuses a request without operator, reason or a valid address, storing nothing', async () => {
    const before = await mongo.db(`t_${ns}`).collection('suppression_lifts').countDocuments();
    const error = (await lift({ channel: Channel.CHANNEL_SMS, address: 'not a phone' }).catch(
      (e: unknown) => e,
    )) as ServiceError;
    expect(error.code).toBe(status.INVALID_ARGUMENT);
    expect(error.details).toMatch(/address/);
    expect(await mongo.db(`t_${ns}`).collection('suppression_lifts').countDocuments()).toBe(before);
  });
});
