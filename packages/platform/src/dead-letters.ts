// Reading and replaying the dead-letter stream that `runConsumer` (and reporting's partition
// workers) write: one message per dead letter, the original payload as data, the original subject,
// stream sequence, consumer and reason in `Dlr-*` headers. Used by `npm run dead-letters`.
import { streamNames, subjects } from '@dlr/contracts';
import type { MsgRequest, StoredMsg } from '@nats-io/jetstream';
import { InvalidArgumentError, NotFoundError } from './errors.js';
import { publishDurable, type NatsHandle } from './nats.js';

/** One message a consumer gave up on, as kept in `<NS>_DEAD_LETTER`. */
export interface DeadLetter {
  /** Sequence in the dead-letter stream: what `show` and `replay` take. */
  readonly seq: number;
  readonly consumer: string;
  readonly originalSubject: string;
  readonly originalSeq: number | undefined;
  readonly reason: string;
  readonly time: Date;
  readonly headers: Readonly<Record<string, string>>;
  /** The original payload, byte for byte. */
  readonly data: Uint8Array;
}

/** What a replay did, per dead letter. */
export interface ReplayOutcome {
  readonly seq: number;
  readonly subject: string;
  /** True when JetStream had the replayed message already (an earlier, interrupted replay). */
  readonly duplicate: boolean;
}

/** The `Nats-Msg-Id` of the replay of dead letter `seq`: the same for every replay of it. */
export function replayMsgId(namespace: string, seq: number): string {
  return `replay:${streamNames(namespace).deadLetter}:${seq}`;
}

/**
 * The dead letters of one namespace, oldest first; of one consumer when `consumer` is given.
 * Throws {@link NotFoundError} when the namespace has no dead-letter stream.
 */
export async function* listDeadLetters(
  nats: NatsHandle,
  namespace: string,
  consumer?: string,
): AsyncGenerator<DeadLetter> {
  const stream = await deadLetterStream(nats, namespace);
  const filter =
    consumer === undefined ? subjects(namespace).deadLetter('>') : subjects(namespace).deadLetter(consumer);
  for (let seq = 1; ;) {
    // The server's STREAM.MSG.GET takes `next_by_subj` (first match at or after `seq`); nats.js types
    // it on the direct-get API only.
    const query = { seq, next_by_subj: filter } as unknown as MsgRequest;
    const msg = await nats.jsm.streams.getMessage(stream, query);
    if (msg === null) return;
    yield toDeadLetter(msg);
    seq = msg.seq + 1;
  }
}

/** One dead letter by its sequence. Throws {@link NotFoundError} when there is none at `seq`. */
export async function getDeadLetter(nats: NatsHandle, namespace: string, seq: number): Promise<DeadLetter> {
  const stream = await deadLetterStream(nats, namespace);
  const msg = await nats.jsm.streams.getMessage(stream, { seq });
  if (msg === null) throw new NotFoundError(`no dead letter at sequence ${seq} in ${stream}`);
  return toDeadLetter(msg);
}

/**
 * Republishes dead letters of `consumer` (all, or the one at `seq`) to their original subjects and
 * removes each once JetStream stored its replay. Idempotent: a replay's `Nats-Msg-Id` comes from the
 * dead letter ({@link replayMsgId}), so a replay interrupted before the removal and run again is
 * deduplicated (within the stream's duplicate window), and a removed dead letter is not replayed again.
 * Throws {@link InvalidArgumentError} when `seq` is not a dead letter of `consumer`.
 */
export async function replayDeadLetters(
  nats: NatsHandle,
  namespace: string,
  consumer: string,
  which: { seq: number } | 'all',
  onReplayed: (outcome: ReplayOutcome) => void = () => undefined,
): Promise<ReplayOutcome[]> {
  const stream = await deadLetterStream(nats, namespace);
  const letters: DeadLetter[] = [];
  if (which === 'all') {
    for await (const letter of listDeadLetters(nats, namespace, consumer)) letters.push(letter);
  } else {
    const letter = await getDeadLetter(nats, namespace, which.seq);
    if (letter.consumer !== consumer)
      throw new InvalidArgumentError(
        `dead letter ${which.seq} belongs to consumer "${letter.consumer}", not "${consumer}"`,
      );
    letters.push(letter);
  }
  const outcomes: ReplayOutcome[] = [];
  for (const letter of letters) {
    const ack = await publishDurable(nats.js, letter.originalSubject, letter.data, replayMsgId(namespace, letter.seq), {
      'Dlr-Replayed-From': String(letter.seq),
    });
    await nats.jsm.streams.deleteMessage(stream, letter.seq, false);
    const outcome = { seq: letter.seq, subject: letter.originalSubject, duplicate: ack.duplicate };
    outcomes.push(outcome);
    onReplayed(outcome);
  }
  return outcomes;
}

async function deadLetterStream(nats: NatsHandle, namespace: string): Promise<string> {
  const stream = streamNames(namespace).deadLetter;
  const info = await nats.jsm.streams.info(stream).catch(() => null);
  if (info === null)
    throw new NotFoundError(`no stream ${stream}: is NATS_NAMESPACE "${namespace}" right, and has a service started?`);
  return stream;
}

function toDeadLetter(msg: StoredMsg): DeadLetter {
  const headers: Record<string, string> = {};
  for (const key of msg.header?.keys() ?? []) headers[key] = msg.header.get(key);
  const originalSubject = headers['Dlr-Original-Subject'];
  const consumer = headers['Dlr-Consumer'];
  if (originalSubject === undefined || consumer === undefined)
    throw new InvalidArgumentError(`message ${msg.seq} of ${msg.subject} has no Dlr-Original-Subject/Dlr-Consumer`);
  const originalSeq = Number(headers['Dlr-Original-Stream-Seq']);
  return {
    seq: msg.seq,
    consumer,
    originalSubject,
    originalSeq: Number.isInteger(originalSeq) ? originalSeq : undefined,
    reason: headers['Dlr-Reason'] ?? '',
    time: msg.time,
    headers,
    data: msg.data,
  };
}
