import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { baseConfigShape, flag, loadConfig, port } from './config.js';
import { ConfigError } from './errors.js';

const goodEnv = {
  MONGODB_URI: 'mongodb://127.0.0.1:27017/',
  MONGODB_DB: 'dlr_test',
  NATS_URL: 'nats://127.0.0.1:4222',
};

function configErrorOf(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('expected a ConfigError, nothing was thrown');
}

describe('loadConfig', () => {
  it('lists every bad or missing variable in one error, by name, without values', () => {
    const secret = 'hunter2-very-secret-value';
    const shape = { ...baseConfigShape, API_KEY: z.string().min(40), MODE: z.enum(['a', 'b']) };
    const error = configErrorOf(() =>
      loadConfig(shape, {
        MONGODB_URI: `postgres://admin:${secret}@db.internal/`,
        MONGODB_DB: 'has spaces/and slashes',
        // NATS_URL missing
        LOG_LEVEL: 'loud',
        NATS_NAMESPACE: 'Upper_Case',
        HTTP_PORT: 'eighty',
        API_KEY: secret,
        MODE: secret,
      }),
    );
    expect(error.code).toBe('config_invalid');
    const named = error.details.map((d) => d.split(':')[0]).sort();
    expect(named).toEqual(
      ['API_KEY', 'HTTP_PORT', 'LOG_LEVEL', 'MODE', 'MONGODB_DB', 'MONGODB_URI', 'NATS_NAMESPACE', 'NATS_URL'].sort(),
    );
    expect(error.details).toContain('NATS_URL: is required');
    for (const d of error.details) expect(error.message).toContain(d);
    const everything = `${error.message}\n${error.details.join('\n')}\n${JSON.stringify(error)}`;
    expect(everything).not.toContain(secret);
    expect(everything).not.toContain('has spaces');
    expect(everything).not.toContain('eighty');
    expect(everything).not.toContain('loud');
  });

  it('reports every missing required variable when the environment is empty', () => {
    const error = configErrorOf(() => loadConfig(baseConfigShape, {}));
    expect(error.details).toEqual(
      expect.arrayContaining(['MONGODB_URI: is required', 'MONGODB_DB: is required', 'NATS_URL: is required']),
    );
    expect(error.details).toHaveLength(3);
  });

  it('applies defaults, treats empty strings as unset, and ignores unrelated variables', () => {
    const config = loadConfig(baseConfigShape, {
      ...goodEnv,
      LOG_LEVEL: '',
      HTTP_PORT: '',
      UNRELATED: 'x',
    });
    expect(config).toEqual({
      ...goodEnv,
      LOG_LEVEL: 'info',
      NATS_NAMESPACE: 'dlr',
      HOST: '127.0.0.1',
      HTTP_PORT: 8080,
      ADMIN_PORT: 9464,
    });
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('reads process.env when no env is given', () => {
    const shape = { DLR_PLATFORM_TEST_VAR: z.string() };
    process.env.DLR_PLATFORM_TEST_VAR = 'from-process';
    try {
      expect(loadConfig(shape).DLR_PLATFORM_TEST_VAR).toBe('from-process');
    } finally {
      delete process.env.DLR_PLATFORM_TEST_VAR;
    }
  });
});

describe('port()', () => {
  const shape = { P: port(4321) };
  const read = (value: string | undefined) => loadConfig(shape, { P: value }).P;

  it('coerces digits to a number and uses the default when unset', () => {
    expect(read('8081')).toBe(8081);
    expect(read('0')).toBe(0);
    expect(read('65535')).toBe(65535);
    expect(read(undefined)).toBe(4321);
    expect(read('')).toBe(4321);
  });

  it.each(['65536', '-1', '80.5', 'http', ' ', '0x50', '1e3'])('rejects %j', (value) => {
    const error = configErrorOf(() => read(value));
    expect(error.details).toHaveLength(1);
    expect(error.details[0]).toMatch(/^P: /);
  });
});

describe('flag()', () => {
  const shape = { F: flag(false), T: flag(true) };

  it('reads true/false/1/0 and applies defaults', () => {
    expect(loadConfig(shape, {})).toEqual({ F: false, T: true });
    expect(loadConfig(shape, { F: 'true', T: 'false' })).toEqual({ F: true, T: false });
    expect(loadConfig(shape, { F: '1', T: '0' })).toEqual({ F: true, T: false });
  });

  it.each(['yes', 'TRUE', 'on', '2'])('rejects %j', (value) => {
    const error = configErrorOf(() => loadConfig(shape, { F: value }));
    expect(error.details).toHaveLength(1);
    expect(error.details[0]).toMatch(/^F: /);
  });
});
