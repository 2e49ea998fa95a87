// Runs dispatch in-process against real NATS + MongoDB with a chosen provider, and collects the
// Sent / Not Sent events it publishes.
import { randomBytes } from 'node:crypto';
import { jetstream, type JetStreamClient } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { Channel, DeliveryEvent, SendRequested, streamNames, subjects } from '@dlr/contracts';
import { startService, type RunningService } from '@dlr/platform';
import { buildApp, configShape, migrate } from '../../src/index.js';
import { eventually, present } from '@dlr/testing';

/** A dispatch instance under test. */
export interface DispatchUnderTest {
  readonly ns: string;
  readonly events: DeliveryEvent[];
  /** Publishes a send request as communication would. */
  publish(request: SendRequested): Promise<void>;
  /** The first event of a delivery (waits for it). */
  eventOf(deliveryId: string, attempt?: number): Promise<DeliveryEvent>;
  stop(): Promise<void>;
}

/** Env every dispatch under test needs; `extra` picks the providers. */
export function baseEnv(ns: string): Record<string, string> {
  return {
    NATS_URL: process.env['NATS_URL']!,
    MONGODB_URI: process.env['MONGODB_URI']!,
    MONGODB_DB: `t_${ns}`,
    NATS_NAMESPACE: ns,
    HTTP_PORT: '0',
    ADMIN_PORT: '0',
    LOG_LEVEL: 'silent',
    PROVIDER_CALLBACK_URL: 'https://callbacks.test.example',
    FEEDBACK_BASE_URL: 'https://feedback.test.example',
    LINK_SIGNING_KEYS: `k1:${'s'.repeat(40)}`,
    PROVIDER_RETRY_BASE_MS: '10',
    PROVIDER_MAX_RETRIES: '2',
  };
}

/** Starts dispatch with `env` (on top of {@link baseEnv}) and a collector of its events. */
export async function startDispatch(env: Record<string, string>): Promise<DispatchUnderTest> {
  if (!process.env['NATS_URL'] || !process.env['MONGODB_URI'])
    throw new Error('NATS_URL / MONGODB_URI are not set: run through the vitest globalSetup');
  const ns = `t${randomBytes(5).toString('hex')}`;
  const service: RunningService<unknown> = await startService({
    name: 'dispatch',
    shape: configShape,
    migrate,
    build: buildApp,
    env: { ...baseEnv(ns), ...env },
  });
  const nc: NatsConnection = await connect({ servers: process.env['NATS_URL'] });
  const js: JetStreamClient = jetstream(nc);
  const events: DeliveryEvent[] = [];
  const consumer = await js.consumers.get(streamNames(ns).delivery, {
    filter_subjects: [subjects(ns).deliveryEventsFrom('dispatch')],
  });
  const messages = await consumer.consume();
  const loop = (async () => {
    for await (const m of messages) events.push(DeliveryEvent.decode(m.data));
  })();
  return {
    ns,
    events,
    publish: async (request) => {
      await js.publish(subjects(ns).sendRequested, SendRequested.encode(request).finish(), {
        msgID: `send:${request.deliveryId}:${request.attempt}`,
      });
    },
    eventOf: (deliveryId, attempt = 1) =>
      eventually(
        () =>
          present(
            events.find((e) => e.deliveryId === deliveryId && e.attempt === attempt),
            `event of ${deliveryId}`,
          ),
        20_000,
      ),
    stop: async () => {
      await messages.close();
      await loop;
      await nc.close();
      await service.stop();
    },
  };
}

const run = randomBytes(3).toString('hex');
let seq = 0;

/** A send request for one recipient on `channel`. */
export function sendRequest(
  channel: 'email' | 'sms',
  address: string,
  acknowledgementRequested = false,
): SendRequested {
  seq++;
  return SendRequested.fromPartial({
    communicationId: `c_${run}`,
    deliveryId: `d_${run}_${seq}`,
    attempt: 1,
    channel: channel === 'email' ? Channel.CHANNEL_EMAIL : Channel.CHANNEL_SMS,
    recipientName: 'Ada Lovelace',
    address,
    content: {
      title: 'Flood warning',
      emailSubject: 'Flood warning: move to higher ground',
      emailBody: 'The river is rising. Move to higher ground now.',
      smsText: 'Flood warning: move to higher ground now.',
      acknowledgementRequested,
    },
    requestedAt: new Date(),
  });
}

/** An outbound message as the dispatcher renders it, for adapter-level tests. */
export function outbound(channel: 'email' | 'sms', to: string, headers?: Record<string, string>) {
  seq++;
  return {
    channel,
    to,
    ...(channel === 'email' ? { subject: 'Flood warning: move to higher ground' } : {}),
    body: channel === 'email' ? 'The river is rising.\nMove to higher ground now.\n' : 'Flood warning: move now.',
    ...(channel === 'email' ? { html: EMAIL_HTML } : {}),
    ...(headers === undefined ? {} : { headers }),
    deliveryId: `d_${run}-${seq}`,
    communicationId: `c_${run}`,
    attempt: 2,
  } as const;
}

/** The HTML part of every email {@link outbound} makes (non-ASCII, so each adapter's encoding shows). */
export const EMAIL_HTML =
  '<!doctype html><html lang="en"><body><h1>Flood warning</h1><p>The river is rising – move now.</p>' +
  '<img src="https://feedback.test.example/o/tok123" alt="" width="1" height="1"></body></html>';

/** List-Unsubscribe headers as the suppression work will set them. */
export const UNSUBSCRIBE_HEADERS = {
  'List-Unsubscribe': '<https://feedback.test.example/u/tok123>, <mailto:unsubscribe@test.example?subject=tok123>',
  'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
} as const;
