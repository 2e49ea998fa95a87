// The benchmark's communication: created, given N email-only recipients, never sent (so dispatch
// stays idle and every status change comes from the benchmark's callbacks).
import { Channel, RecipientInput } from '@dlr/contracts';
import type { CommunicationApi } from '@dlr/testing';

/** Recipients per AddRecipients call. */
export const RECIPIENT_BATCH = 500;

/** Creates an email-only communication; its ID. */
export async function createCommunication(api: CommunicationApi): Promise<string> {
  const { communication } = await api.create({
    title: 'Benchmark: provider callbacks',
    emailSubject: 'Benchmark',
    emailBody: 'Benchmark message (never sent).',
    smsText: '',
    channels: [Channel.CHANNEL_EMAIL],
    acknowledgementRequested: false,
    responseOptions: [],
  });
  if (!communication) throw new Error('CreateCommunication answered without a communication');
  return communication.id;
}

/** Adds recipients `r<from>@example.org` … `r<from + count - 1>@example.org`; their delivery IDs in that order. */
export async function addRecipients(
  api: CommunicationApi,
  communicationId: string,
  from: number,
  count: number,
): Promise<string[]> {
  const rows = Array.from({ length: count }, (_, k) =>
    RecipientInput.fromPartial({ email: `r${from + k}@example.org` }),
  );
  const { deliveries } = await api.addRecipients({ communicationId, recipients: rows });
  const ids: string[] = [];
  for (const d of deliveries) ids[d.recipientIndex] = d.deliveryId;
  if (ids.length !== count || ids.some((id) => !id)) {
    throw new Error(`AddRecipients returned ${deliveries.length} delivery IDs for ${count} recipients`);
  }
  return ids;
}
