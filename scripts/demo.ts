// The whole system on this machine: the five services and the provider simulator as separate
// processes on the NATS and MongoDB-compatible servers that scripts/with-infra.mjs provides, a demo
// communication to a few hundred recipients, sent, with the URLs to watch. Ctrl-C stops everything.
import { join } from 'node:path';
import { Channel } from '@dlr/contracts';
import { communicationClient, REPO_ROOT, startSystem } from '@dlr/testing';

const RECIPIENTS = Number(process.env.DEMO_RECIPIENTS ?? 300);
const say = (line: string) => process.stdout.write(`[demo] ${line}\n`);

async function main(): Promise<void> {
  const { NATS_URL, MONGODB_URI } = process.env;
  if (!NATS_URL || !MONGODB_URI)
    throw new Error('NATS_URL and MONGODB_URI must be set (run `npm run demo`, which provides them)');
  const logDir = join(REPO_ROOT, '.dlr', `demo-${new Date().toISOString().replace(/[:.]/g, '-')}`);
  say(`starting the five services and the provider simulator (logs in ${logDir})`);
  const system = await startSystem({ natsUrl: NATS_URL, mongoUri: MONGODB_URI, namespace: 'dlr', logDir, log: say });
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    say(`${signal}: stopping every process`);
    const codes = await system.stop();
    say(
      `stopped: ${Object.entries(codes)
        .map(([n, c]) => `${n}=${c ?? 'signal'}`)
        .join(' ')}`,
    );
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));

  const api = communicationClient(system.communicationGrpc, system.operatorToken);
  const { communication } = await api.create({
    title: 'Demo: flood warning for the river district',
    emailSubject: 'Flood warning: move to higher ground now',
    emailBody:
      'The river is expected to peak tonight. Move to higher ground now and follow directions from emergency services.',
    smsText: 'FLOOD WARNING: move to higher ground now. Follow directions from emergency services.',
    channels: [Channel.CHANNEL_EMAIL, Channel.CHANNEL_SMS],
    acknowledgementRequested: true,
    responseOptions: [],
  });
  const id = communication!.id;
  const recipients = Array.from({ length: RECIPIENTS }, (_, i) => {
    const n = String(i + 1).padStart(4, '0');
    // A few addresses the simulator refuses, so Not Sent shows too; the rest get random outcomes.
    const email = i % 50 === 7 ? `reject.resident${n}@example.org` : `resident${n}@example.org`;
    return {
      externalId: `resident-${n}`,
      name: `Resident ${n}`,
      email,
      phone: i % 3 === 0 ? `+614000${n.padStart(5, '0')}` : '',
    };
  });
  for (let i = 0; i < recipients.length; i += 100) {
    const batch = recipients.slice(i, i + 100);
    await api.addRecipients({ communicationId: id, recipients: batch });
    say(`added recipients ${i + 1}–${i + batch.length} of ${recipients.length}`);
  }
  const reportUrl = `${system.reportingUrl}/communications/${id}`;
  const apiUrl = `${system.reportingUrl}/api/v1/communications/${id}/delivery-records`;
  say(`delivery report (records appear Pending now): ${reportUrl}`);
  await api.send({ communicationId: id });
  say('sent; records move Pending → Sent → Delivered / Bounced Temporarily / Failed within seconds');

  const found = await findDeliveredEmail(system.simulatorUrl, system.simulatorApiKey);
  const outbox = `${system.simulatorUrl}/v1/messages`;
  const keyHeader = `-H 'Authorization: Bearer ${system.simulatorApiKey}'`;
  process.stdout.write(
    [
      '',
      '  Delivery report (live):   ' + reportUrl,
      '  Delivery records (JSON):  ' + apiUrl + '  (header: Authorization: Bearer <operator token>)',
      '  Admin token (sign in):    ' + system.operatorToken + '  (everything: override, lift a suppression)',
      '  Sender token:             ' + system.senderToken + '  (create, add recipients, preview, send, resend)',
      '  Viewer token:             ' + system.viewerToken + '  (reports, CSV, live updates, recipient history)',
      '  Message Delivery Report:  ' + `${system.reportingUrl}/reports/messages?communicationId=${id}`,
      '  Operator console:         ' + `${system.httpUrls.communication}/console`,
      '  gRPC (same token):        ' +
        `CommunicationService ${system.communicationGrpc}, ReportingService ${system.reportingGrpc}  (metadata: authorization: Bearer <operator token>; health and reflection need none: grpcurl -plaintext <addr> list)`,
      '  Metrics and readiness:    ' +
        Object.entries(system.adminUrls)
          .map(([name, url]) => `${name} ${url}/metrics`)
          .join(', ') +
        '  (admin ports; /readyz beside each)',
      '  Acknowledge link (one recipient, as delivered by the simulator): ' + (found?.link ?? '(none found yet)'),
      '  Simulator outbox:         ' + outbox + '?limit=20&include=html  (what was sent, JSON: text and HTML parts)',
      '  Simulator key:            ' + system.simulatorApiKey + '  (header: Authorization: Bearer <key>)',
      '  One email as received:    ' +
        `curl -s ${keyHeader} ${outbox}/${found?.messageId ?? '<messageId>'}/raw > email.eml` +
        '  (open it in a mail client: loading its images loads the open pixel → Read)',
      '  Logs:                     ' + logDir,
      '',
      '  Open the acknowledge link, press "Acknowledge", and that record turns Acknowledged.',
      '  Press Ctrl-C to stop everything.',
      '',
    ].join('\n') + '\n',
  );
  api.close();
  await watchCounts(apiUrl, system.operatorToken);
}

/** One email the simulator will report delivered: its acknowledge link and its outbox message ID. */
async function findDeliveredEmail(
  simulatorUrl: string,
  key: string,
): Promise<{ link: string; messageId: string } | undefined> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const res = await fetch(`${simulatorUrl}/v1/messages?limit=500`, { headers: { authorization: `Bearer ${key}` } });
    if (res.ok) {
      const { messages } = (await res.json()) as {
        messages: { messageId: string; channel: string; body: string; outcome?: string }[];
      };
      const delivered = messages.find(
        (m) => m.outcome === 'delivered' && m.channel === 'email' && /\/a\//.test(m.body),
      );
      const match = delivered && /https?:\/\/\S+\/a\/[A-Za-z0-9._~-]+/.exec(delivered.body);
      if (match) return { link: match[0], messageId: delivered.messageId };
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  return undefined;
}

async function watchCounts(apiUrl: string, token: string): Promise<void> {
  let last = '';
  for (;;) {
    const res = await fetch(`${apiUrl}?limit=1`, { headers: { authorization: `Bearer ${token}` } }).catch(
      () => undefined,
    );
    if (res?.ok) {
      const { counts, total } = (await res.json()) as { counts: Record<string, number>; total: number };
      const line = Object.entries(counts)
        .filter(([, n]) => n > 0)
        .map(([s, n]) => `${s}=${n}`)
        .join(' ');
      if (line !== last) say(`${total} records: ${line}`);
      last = line;
    }
    await new Promise((r) => setTimeout(r, 2_000));
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`[demo] failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
