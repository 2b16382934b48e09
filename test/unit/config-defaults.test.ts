import { describe, expect, it } from 'vitest';
import { INTEGER_SETTINGS, loadConfig } from '../../src/config';
import {
  DEFAULT_BACKTEST_MAX_CLAIMS,
  DEFAULT_POE_MAX_CONCURRENT_UPLOADS,
  DEFAULT_POE_UPLOAD_IDLE_MS,
  DEFAULT_POE_UPLOAD_TIMEOUT_MS,
} from '../../src/http/context';
import { POE_MAX_BYTES } from '../../src/poe/allowed-poe-types';
import { DEFAULT_MAX_LIFETIME_SEC } from '../../src/auth/jwt-authenticator';

describe('config defaults', () => {
  it('an empty environment gives every whole-number setting the default of its row in the settings table', () => {
    const config = loadConfig({}, { policyPath: 'policies' });
    for (const [key, setting] of Object.entries(INTEGER_SETTINGS)) {
      expect(config[key as keyof typeof INTEGER_SETTINGS], setting.env).toBe(setting.default);
    }
  });

  it('createApp without limits uses the same defaults as the service started from an empty environment', () => {
    const config = loadConfig({}, { policyPath: 'policies' });
    expect({
      backtestMaxClaims: DEFAULT_BACKTEST_MAX_CLAIMS,
      poeMaxConcurrentUploads: DEFAULT_POE_MAX_CONCURRENT_UPLOADS,
      poeUploadIdleMs: DEFAULT_POE_UPLOAD_IDLE_MS,
      poeUploadTimeoutMs: DEFAULT_POE_UPLOAD_TIMEOUT_MS,
      poeMaxBytes: POE_MAX_BYTES,
      jwtMaxLifetimeSeconds: DEFAULT_MAX_LIFETIME_SEC,
    }).toEqual({
      backtestMaxClaims: config.backtestMaxClaims,
      poeMaxConcurrentUploads: config.poeMaxConcurrentUploads,
      poeUploadIdleMs: config.poeUploadIdleMs,
      poeUploadTimeoutMs: config.poeUploadTimeoutMs,
      poeMaxBytes: config.poeMaxBytes,
      jwtMaxLifetimeSeconds: config.jwtMaxLifetimeSeconds,
    });
  });

  it('a value outside its row\'s range is refused with the range', () => {
    expect(() => loadConfig({ POE_UPLOAD_IDLE_MS: '99' }, { policyPath: 'policies' })).toThrow(
      'POE_UPLOAD_IDLE_MS="99": expected a whole number from 100 to 3600000',
    );
  });
});
