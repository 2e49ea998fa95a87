// Lists, shows and replays dead letters (messages a consumer gave up on) of a running system:
//
//   npm run dead-letters -- list [<consumer>]
//   npm run dead-letters -- show <seq>
//   npm run dead-letters -- replay <consumer> (--all | <seq>)
//
// Reads NATS_URL (required) and NATS_NAMESPACE (default dlr), as the services do. `show` prints the
// payload, which holds personal data (names, addresses): it goes to this terminal only, never to a log.
import {
  DeliveryEvent,
  LinkContent,
  RecipientsAdded,
  SendRequested,
  ShortLinkIssued,
  subjectMatches,
  subjects,
  SuppressionLifted,
} from '@dlr/contracts';
import {
  AppError,
  connectNats,
  createLogger,
  getDeadLetter,
  listDeadLetters,
  replayDeadLetters,
  type DeadLetter,
  type NatsHandle,
} from '@dlr/platform';

const USAGE = `usage: npm run dead-letters -- <command>
  list [<consumer>]                 every dead letter (of one consumer): seq, time, consumer, subject, reason
  show <seq>                        headers and decoded payload of one dead letter (contains personal data)
  replay <consumer> (--all | <seq>) republish to the original subject, then remove the dead letter
environment: NATS_URL (required), NATS_NAMESPACE (default dlr)`;

/** A wrong command line: printed with the usage, exit code 2. */
class UsageError extends Error {}

const out = (line: string) => process.stdout.write(`${line}\n`);

type Codec = { decode(data: Uint8Array): unknown; toJSON(message: never): unknown };

/** The payload type of each original subject, to decode a dead letter for `show`. */
function codecFor(namespace: string, subject: string): { name: string; codec: Codec } | undefined {
  const s = subjects(namespace);
  const table: [string, string, Codec][] = [
    [s.recipientsAdded, 'RecipientsAdded', RecipientsAdded],
    [s.sendRequested, 'SendRequested', SendRequested],
    [s.deliveryEvents, 'DeliveryEvent', DeliveryEvent],
    [s.shortLinks, 'ShortLinkIssued', ShortLinkIssued],
    [s.linkContents, 'LinkContent', LinkContent],
    [s.suppressionLifted, 'SuppressionLifted', SuppressionLifted],
    [`${namespace}.v1.reporting.work.*.recipients`, 'RecipientsAdded', RecipientsAdded],
    [`${namespace}.v1.reporting.work.*.event`, 'DeliveryEvent', DeliveryEvent],
  ];
  const hit = table.find(([pattern]) => subjectMatches(pattern, subject));
  return hit && { name: hit[1], codec: hit[2] };
}

function seqArg(value: string | undefined, what: string): number {
  const seq = Number(value);
  if (value === undefined || !Number.isSafeInteger(seq) || seq < 1)
    throw new UsageError(
      `${what} must be a dead-letter sequence number (a positive integer), got ${value ?? 'nothing'}`,
    );
  return seq;
}

function line(d: DeadLetter): string {
  return [String(d.seq).padStart(6), d.time.toISOString(), d.consumer, d.originalSubject, d.reason].join('  ');
}

async function run(nats: NatsHandle, namespace: string, args: readonly string[]): Promise<void> {
  const [command, ...rest] = args;
  switch (command) {
    case 'list': {
      if (rest.length > 1) throw new UsageError('list takes at most one consumer name');
      let count = 0;
      out('   seq  time                      consumer  original subject  reason');
      for await (const letter of listDeadLetters(nats, namespace, rest[0])) {
        out(line(letter));
        count++;
      }
      out(`${count} dead letter(s)${rest[0] === undefined ? '' : ` of ${rest[0]}`}`);
      return;
    }
    case 'show': {
      if (rest.length !== 1) throw new UsageError('show takes one sequence number');
      const letter = await getDeadLetter(nats, namespace, seqArg(rest[0], 'show <seq>'));
      out(line(letter));
      for (const [key, value] of Object.entries(letter.headers)) out(`  ${key}: ${value}`);
      const type = codecFor(namespace, letter.originalSubject);
      let payload: string;
      try {
        payload =
          type === undefined
            ? `(no known payload type for this subject; ${letter.data.length} bytes, base64) ${Buffer.from(letter.data).toString('base64')}`
            : `${type.name} ${JSON.stringify(type.codec.toJSON(type.codec.decode(letter.data) as never), null, 2)}`;
      } catch (error) {
        payload = `(undecodable: ${String(error)}; base64) ${Buffer.from(letter.data).toString('base64')}`;
      }
      process.stderr.write('note: the payload below may hold personal data; keep it to this terminal\n');
      out(payload);
      return;
    }
    case 'replay': {
      const [consumer, target, ...extra] = rest;
      if (consumer === undefined || consumer.startsWith('--') || target === undefined || extra.length > 0)
        throw new UsageError('replay takes a consumer name and then --all or one sequence number');
      const which = target === '--all' ? 'all' : { seq: seqArg(target, 'replay <consumer> <seq>') };
      const outcomes = await replayDeadLetters(nats, namespace, consumer, which, (o) =>
        out(`replayed ${o.seq} → ${o.subject}${o.duplicate ? ' (already there: deduplicated)' : ''}`),
      );
      out(`${outcomes.length} dead letter(s) of ${consumer} replayed and removed`);
      return;
    }
    case undefined:
      throw new UsageError('no command given');
    default:
      throw new UsageError(`unknown command "${command}"`);
  }
}

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  if (args.length === 0 || args[0] === '--help' || args[0] === '-h') {
    out(USAGE);
    return args.length === 0 ? 2 : 0;
  }
  const url = process.env.NATS_URL;
  if (!url) {
    process.stderr.write(`NATS_URL is not set: point it at the system's NATS, e.g. NATS_URL=nats://127.0.0.1:4222\n`);
    return 2;
  }
  const namespace = process.env.NATS_NAMESPACE ?? 'dlr';
  const logger = createLogger('dead-letters', process.env.LOG_LEVEL ?? 'warn');
  let nats: NatsHandle | undefined;
  try {
    nats = await connectNats({ servers: url, name: 'dead-letters', logger, attempts: 3 });
    await run(nats, namespace, args);
    return 0;
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`${error.message}\n\n${USAGE}\n`);
      return 2;
    }
    process.stderr.write(`${error instanceof AppError ? error.message : String(error)}\n`);
    return 1;
  } finally {
    await nats?.drain().catch(() => undefined);
  }
}

process.exitCode = await main();
