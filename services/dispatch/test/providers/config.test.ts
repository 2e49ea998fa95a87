import { baseConfigShape, ConfigError, loadConfig } from '@dlr/platform';
import { describe, expect, it } from 'vitest';
import { selectProviders } from '../../src/adapters/providers/select.js';
import { configShape } from '../../src/index.js';

const base = {
  MONGODB_URI: 'mongodb://127.0.0.1:27017/',
  MONGODB_DB: 'unused',
  NATS_URL: 'nats://127.0.0.1:4222',
  PROVIDER_CALLBACK_URL: 'https://callbacks.test.example',
  FEEDBACK_BASE_URL: 'https://feedback.test.example',
  LINK_SIGNING_KEYS: `k1:${'s'.repeat(40)}`,
};

function select(env: Record<string, string>) {
  const selected = selectProviders(loadConfig({ ...baseConfigShape, ...configShape }, { ...base, ...env }));
  selected.close();
  return selected.providers;
}

function problems(env: Record<string, string>): string[] {
  try {
    select(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return [...(error as ConfigError).details];
  }
  throw new Error('expected a ConfigError');
}

describe('provider selection from config', () => {
  it('defaults to the simulator for both channels, which then needs its URL and key', () => {
    expect(problems({})).toEqual([
      'SIMULATOR_URL: is required when EMAIL_PROVIDER and SMS_PROVIDER is simulator',
      'SIMULATOR_API_KEY: is required when EMAIL_PROVIDER and SMS_PROVIDER is simulator',
    ]);
    const providers = select({ SIMULATOR_URL: 'http://127.0.0.1:4010', SIMULATOR_API_KEY: 'k' });
    expect(providers.email).toBe(providers.sms);
    expect(providers.email.name).toBe('simulator');
  });

  it('names each missing variable of a chosen provider, and only of chosen ones', () => {
    expect(problems({ EMAIL_PROVIDER: 'ses', SMS_PROVIDER: 'twilio' })).toEqual([
      'EMAIL_FROM: is required when EMAIL_PROVIDER is ses',
      'SES_REGION: is required when EMAIL_PROVIDER is ses',
      'SES_CONFIGURATION_SET: is required when EMAIL_PROVIDER is ses',
      'TWILIO_ACCOUNT_SID: is required when SMS_PROVIDER is twilio',
      'TWILIO_AUTH_TOKEN: is required when SMS_PROVIDER is twilio',
      'TWILIO_FROM: set exactly one of TWILIO_FROM and TWILIO_MESSAGING_SERVICE_SID when SMS_PROVIDER is twilio',
    ]);
    expect(problems({ EMAIL_PROVIDER: 'mailgun', SMS_PROVIDER: 'twilio' })).toContain(
      'MAILGUN_DOMAIN: is required when EMAIL_PROVIDER is mailgun',
    );
    expect(problems({ EMAIL_PROVIDER: 'sendgrid', SIMULATOR_URL: 'http://s', SIMULATOR_API_KEY: 'k' })).toEqual([
      'EMAIL_FROM: is required when EMAIL_PROVIDER is sendgrid',
      'SENDGRID_API_KEY: is required when EMAIL_PROVIDER is sendgrid',
    ]);
  });

  it('wants credential pairs complete, and never puts a secret in the error', () => {
    const details = problems({
      EMAIL_PROVIDER: 'smtp',
      SMS_PROVIDER: 'twilio',
      EMAIL_FROM: 'alerts@test.example',
      SMTP_HOST: 'smtp.test.example',
      SMTP_PASSWORD: 'hunter2-secret',
      TWILIO_ACCOUNT_SID: `AC${'0'.repeat(32)}`,
      TWILIO_AUTH_TOKEN: 'twilio-secret-token',
      TWILIO_FROM: '+15005550006',
    });
    expect(details).toEqual(['SMTP_USER: is required together with SMTP_PASSWORD']);
    expect(details.join(' ')).not.toMatch(/hunter2|twilio-secret/);
  });

  it('builds the chosen providers, named as events and attempts will name them', () => {
    const common = { EMAIL_FROM: 'Alerts <alerts@test.example>', SIMULATOR_URL: 'http://s', SIMULATOR_API_KEY: 'k' };
    expect(
      select({ ...common, EMAIL_PROVIDER: 'ses', SES_REGION: 'eu-west-1', SES_CONFIGURATION_SET: 'dlr' }).email.name,
    ).toBe('ses');
    expect(select({ ...common, EMAIL_PROVIDER: 'sendgrid', SENDGRID_API_KEY: 'SG.x' }).email.name).toBe('sendgrid');
    expect(
      select({ ...common, EMAIL_PROVIDER: 'mailgun', MAILGUN_API_KEY: 'k', MAILGUN_DOMAIN: 'mg.test.example' }).email
        .name,
    ).toBe('mailgun');
    expect(select({ ...common, EMAIL_PROVIDER: 'smtp', SMTP_HOST: 'smtp.test.example' }).email.name).toBe('smtp');
    const both = select({
      ...common,
      SMS_PROVIDER: 'twilio',
      TWILIO_ACCOUNT_SID: `AC${'0'.repeat(32)}`,
      TWILIO_AUTH_TOKEN: 't',
      TWILIO_MESSAGING_SERVICE_SID: `MG${'0'.repeat(32)}`,
    });
    expect([both.email.name, both.sms.name]).toEqual(['simulator', 'twilio']);
  });

  it('refuses a From that is not a mailbox', () => {
    expect(() => loadConfig({ ...baseConfigShape, ...configShape }, { ...base, EMAIL_FROM: 'not an address' })).toThrow(
      /EMAIL_FROM: must be "Name <address>" or an address/,
    );
  });
});
