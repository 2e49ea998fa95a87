import { describe, expect, it } from 'vitest';
import { checkRecipientCsv, parseRecipientCsv } from './csv.js';

describe('parseRecipientCsv', () => {
  it('reads a header in any order, quoted cells, CRLF and blank lines, numbering rows like a spreadsheet', () => {
    const text =
      'Email,Name,Phone,Opt-out\r\n"ann@example.org","Smith, Ann",+61400000001,sms\r\n\r\nbob@example.org,"Bob ""B""",,\r\n';
    expect(parseRecipientCsv(text)).toEqual({
      rows: [
        {
          row: 2,
          recipient: {
            name: 'Smith, Ann',
            email: 'ann@example.org',
            phone: '+61400000001',
            externalId: '',
            optedOut: ['sms'],
          },
        },
        { row: 4, recipient: { name: 'Bob "B"', email: 'bob@example.org', phone: '', externalId: '', optedOut: [] } },
      ],
      problems: [],
    });
  });

  it('reads headerless rows as name, email, phone, external_id, opt_out, and tab-separated pastes', () => {
    expect(parseRecipientCsv('Ann,ann@example.org,+61400000001,p-1,email;sms').rows[0]?.recipient).toEqual({
      name: 'Ann',
      email: 'ann@example.org',
      phone: '+61400000001',
      externalId: 'p-1',
      optedOut: ['email', 'sms'],
    });
    expect(parseRecipientCsv('name\temail\nAnn\tann@example.org').rows[0]?.recipient.email).toBe('ann@example.org');
  });

  it('reads other columns as merge fields, and reports bad column names, extra cells, bad opt-out values and unclosed quotes with their rows', () => {
    expect(parseRecipientCsv('name,email,Evacuation centre\nAnn,a@example.org, Hall 2 ').rows).toEqual([
      {
        row: 2,
        recipient: {
          name: 'Ann',
          email: 'a@example.org',
          phone: '',
          externalId: '',
          optedOut: [],
          fields: { evacuation_centre: 'Hall 2' },
        },
      },
    ]);
    expect(parseRecipientCsv('name,email,colour?\nAnn,a@example.org,red').problems).toEqual([
      {
        row: 1,
        field: 'header',
        problem:
          'column 3 "colour?" is neither one of name, email, phone, external_id, opt_out nor a merge-field name (letters, digits and _, starting with a letter)',
      },
    ]);
    expect(parseRecipientCsv('name,email\nAnn,a@example.org,extra\nBob,b@example.org').problems).toEqual([
      { row: 2, field: 'row', problem: 'has 3 columns; expected at most 2 (name, email)' },
    ]);
    expect(parseRecipientCsv('Ann,a@example.org,,,fax').problems).toEqual([
      { row: 1, field: 'opt_out', problem: '"fax" is not a channel; use email, sms or both (separated by ;)' },
    ]);
    expect(parseRecipientCsv('Ann,a@example.org\n"Bob,b@example.org').problems).toEqual([
      { row: 2, field: 'row', problem: 'a quoted cell is not closed' },
    ]);
  });
});

describe('checkRecipientCsv', () => {
  it('refuses a row without a value for a merge field the message uses, naming the row and the field', () => {
    const text = [
      'name,email,street',
      'Ann,ann@example.org,1 Coast Rd',
      'Bob,bob@example.org,',
      ',cat@example.org,3 Hill St',
    ].join('\n');
    const { problems } = checkRecipientCsv(text, ['email'], undefined, ['name', 'street']);
    expect(problems).toEqual([
      { row: 3, field: 'fields', problem: 'no value for {{street}}, which the message uses' },
      { row: 4, field: 'fields', problem: 'no value for {{name}}, which the message uses' },
    ]);
  });

  it('lists each bad row with its number and field, in row order', () => {
    const text = [
      'name,email,phone',
      'Ann,ann@example.org,',
      'Bob,not-an-email,0400',
      'Cat,,',
      'Dan,,+61400000004',
    ].join('\n');
    const { rows, problems } = checkRecipientCsv(text, ['email']);
    expect(rows).toHaveLength(4);
    expect(problems).toEqual([
      { row: 3, field: 'email', problem: 'not a valid email address' },
      {
        row: 3,
        field: 'phone',
        problem: 'not in international format: start with + and the country code (e.g. +61400000000)',
      },
      { row: 4, field: 'row', problem: "has no email address for this communication's channels" },
      { row: 5, field: 'row', problem: "has no email address for this communication's channels" },
    ]);
  });

  it('refuses an empty paste', () => {
    expect(checkRecipientCsv(' \n', ['sms']).problems).toEqual([
      { row: 0, field: 'file', problem: 'no recipients found: paste or upload at least one row' },
    ]);
  });
});
