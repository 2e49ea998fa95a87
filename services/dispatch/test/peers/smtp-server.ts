// A real SMTP server for the SMTP adapter's tests, run as a child process by the test.
// Env: SMTP_PEER_USER / SMTP_PEER_PASSWORD (required auth). Listens on 127.0.0.1, a free port.
// stdout, one JSON object a line: {"listening": port}, then {"message": base64 raw, "from", "to"} per accepted mail.
// Recipients decide the answer: "reject-5xx@…" → 550 at RCPT TO, "busy-4xx@…" → 451 at RCPT TO,
// "reject-data@…" → 554 after DATA; anything else is accepted.
import { SMTPServer } from 'smtp-server';

const user = process.env['SMTP_PEER_USER'] ?? '';
const password = process.env['SMTP_PEER_PASSWORD'] ?? '';

function emit(line: object): void {
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

function smtpError(message: string, responseCode: number): Error {
  return Object.assign(new Error(message), { responseCode });
}

const server = new SMTPServer({
  authMethods: ['PLAIN', 'LOGIN'],
  authOptional: false,
  // No TLS in this peer: the adapter under test is told not to require it.
  disabledCommands: ['STARTTLS'],
  allowInsecureAuth: true,
  logger: false,
  onAuth(auth, _session, callback) {
    if (auth.username === user && auth.password === password) return callback(null, { user: auth.username });
    return callback(smtpError('5.7.8 Authentication credentials invalid', 535));
  },
  onRcptTo(address, _session, callback) {
    if (address.address.startsWith('reject-5xx@')) {
      return callback(smtpError('5.1.1 The email account that you tried to reach does not exist', 550));
    }
    if (address.address.startsWith('busy-4xx@')) {
      return callback(smtpError('4.3.0 Mail server temporarily rejected message, try again later', 451));
    }
    return callback();
  },
  onData(stream, session, callback) {
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('end', () => {
      const to = session.envelope.rcptTo.map((r) => r.address);
      if (to.some((a) => a.startsWith('reject-data@'))) {
        return callback(smtpError('5.7.1 Message rejected as spam by content filtering', 554));
      }
      const from = session.envelope.mailFrom === false ? '' : session.envelope.mailFrom.address;
      emit({ message: Buffer.concat(chunks).toString('base64'), from, to, user: session.user });
      return callback(null, 'Queued as peer');
    });
  },
});

server.listen(0, '127.0.0.1', () => {
  const address = server.server.address();
  emit({ listening: typeof address === 'object' && address !== null ? address.port : 0 });
});

const stop = () => server.close(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
