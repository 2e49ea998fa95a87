import { describe, expect, it } from 'vitest';
import { redactUrl } from './index.js';

describe('redactUrl', () => {
  it.each([
    ['nats://user:pass@host:4222', 'nats://***@host:4222'],
    ['nats://s3cr3t-token@host', 'nats://***@host'],
    ['tls://u:p@nats.example.org:4443', 'tls://***@nats.example.org:4443'],
    ['user:pass@127.0.0.1:4222', '***@127.0.0.1:4222'],
    ['mongodb://app:p%40ss@db1,db2/dlr?authSource=admin', 'mongodb://***@db1,db2/dlr?authSource=admin'],
  ])('hides the credentials of %s', (url, shown) => expect(redactUrl(url)).toBe(shown));

  it.each(['nats://127.0.0.1:4222', 'nats://host', '127.0.0.1:4222', 'mongodb://db/x?u=a@b', ''])(
    'leaves %j as it is',
    (url) => expect(redactUrl(url)).toBe(url),
  );
});
