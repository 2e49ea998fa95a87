// A local Twilio Messages API peer (POST /2010-04-01/Accounts/<sid>/Messages.json, urlencoded,
// Basic <sid>:<token>) as documented: 201 with the Message resource (sid SM…, status queued);
// errors {"code","message","more_info","status"}. "To" decides: +15005550001 → 400 code 21211
// (invalid number); anything else → 201.
import { randomBytes } from 'node:crypto';
import { basicCredentials, formFields, startHttpPeer, type Answer, type HttpPeer } from './http-peer.js';

function error(status: number, code: number, message: string): Answer {
  return { status, body: { code, message, more_info: `https://www.twilio.com/docs/errors/${code}`, status } };
}

/** Starts the Twilio peer for `accountSid`, accepting `authToken`. */
export function startTwilioPeer(accountSid: string, authToken: string): Promise<HttpPeer> {
  return startHttpPeer(async (request) => {
    if (request.method !== 'POST' || request.url !== `/2010-04-01/Accounts/${accountSid}/Messages.json`) {
      return error(404, 20404, 'The requested resource was not found');
    }
    const credentials = basicCredentials(request.headers['authorization']);
    if (credentials?.user !== accountSid || credentials.password !== authToken)
      return error(401, 20003, 'Authenticate');
    const fields = new Map(await formFields(request));
    const to = fields.get('To');
    if (!to) return error(400, 21604, "A 'To' phone number is required.");
    if (!fields.get('From') && !fields.get('MessagingServiceSid')) {
      return error(400, 21603, "A 'From' phone number is required.");
    }
    if (!fields.get('Body')) return error(400, 21602, 'Message body is required.');
    if (to === '+15005550001') return error(400, 21211, `The 'To' number ${to} is not a valid phone number.`);
    const sid = `SM${randomBytes(16).toString('hex')}`;
    const now = new Date().toUTCString();
    return {
      status: 201,
      body: {
        account_sid: accountSid,
        api_version: '2010-04-01',
        body: fields.get('Body'),
        date_created: now,
        date_sent: null,
        date_updated: now,
        direction: 'outbound-api',
        error_code: null,
        error_message: null,
        from: fields.get('From') ?? null,
        messaging_service_sid: fields.get('MessagingServiceSid') ?? null,
        num_media: '0',
        num_segments: '1',
        price: null,
        price_unit: null,
        sid,
        status: 'queued',
        subresource_uris: { media: `/2010-04-01/Accounts/${accountSid}/Messages/${sid}/Media.json` },
        to,
        uri: `/2010-04-01/Accounts/${accountSid}/Messages/${sid}.json`,
      },
    };
  });
}
