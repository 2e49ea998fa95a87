import { describe, expect, it } from 'vitest';
import { ERASED, erasureHash, mentionsAddress, newErasureSalt, scrubNames } from './erasure.js';

const salt = newErasureSalt();

describe('scrubNames', () => {
  const names = new Set([erasureHash(salt, 'name', 'Zoe Quill'), erasureHash(salt, 'name', "O'Neil")]);

  it('replaces the name wherever it stands, whatever its case, spacing or the punctuation around it', () => {
    expect(scrubNames('Your warden is Zoe Quill.', salt, names)).toBe(`Your warden is ${ERASED}.`);
    expect(scrubNames('ZOE  quill, (zoe quill) and Zoe', salt, names)).toBe(`${ERASED}, (${ERASED}) and Zoe`);
    expect(scrubNames("Ask O'Neil.", salt, names)).toBe(`Ask ${ERASED}.`);
    expect(scrubNames('Nobody here', salt, names)).toBe('Nobody here');
  });

  it('a salt of another erasure matches nothing', () => {
    expect(scrubNames('Zoe Quill', newErasureSalt(), names)).toBe('Zoe Quill');
  });
});

describe('mentionsAddress', () => {
  const addresses = new Set([erasureHash(salt, 'email', 'zoe@example.org'), erasureHash(salt, 'sms', '+61400779992')]);

  it('finds an address in JSON, in a form body (URL-encoded) and at the end of a sentence', () => {
    expect(mentionsAddress('{"email":"Zoe@Example.org","event":"delivered"}', salt, addresses)).toBe(true);
    expect(mentionsAddress('To=%2B61400779992&MessageStatus=failed', salt, addresses)).toBe(true);
    expect(mentionsAddress('550 mailbox zoe@example.org.', salt, addresses)).toBe(true);
    expect(mentionsAddress('{"email":"ann@example.org","to":"+61400889991"}', salt, addresses)).toBe(false);
  });
});
