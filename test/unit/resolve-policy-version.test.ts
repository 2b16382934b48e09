import { beforeAll, describe, expect, it } from 'vitest';
import { compilePolicy, type CompiledPolicy } from '../../src/policies/compiled-policy';
import type { PolicySource } from '../../src/policies/policy-source';
import { resolvePolicyVersion } from '../../src/policies/resolve-policy-version';
import { bundledPolicy, withPolicy } from '../support/bundled-policy';

let v1: CompiledPolicy;
let v2: CompiledPolicy;
let source: PolicySource & { list(): Array<{ id: string; version: string }> };

beforeAll(async () => {
  const base = await bundledPolicy();
  v1 = compilePolicy(withPolicy(base, (d) => Object.assign(d, { version: '2026.1', effective: '2026-01-01T00:00:00Z' })));
  v2 = compilePolicy(withPolicy(base, (d) => Object.assign(d, { version: '2026.2', effective: '2026-06-01T00:00:00Z' })));
  const versions = [v1, v2];
  source = {
    current: (at) => (at >= new Date('2026-06-01T00:00:00Z') ? v2 : v1),
    get: (ref) => versions.find((v) => v.policy.id === ref.id && v.policy.version === ref.version),
    list: () => versions.map((v) => ({ id: v.policy.id, version: v.policy.version })),
  };
});

const claim = (version: string, policyPinned: boolean) => ({ id: 'claim-1', policy: { id: v1.policy.id, version }, policyPinned });

describe('resolvePolicyVersion', () => {
  it('an unpinned claim or a plain evaluation follows the version in effect at the instant', () => {
    expect(resolvePolicyVersion(source, { at: new Date('2026-03-01T00:00:00Z') })).toBe(v1);
    expect(resolvePolicyVersion(source, { record: claim('2026.1', false), at: new Date('2026-07-01T00:00:00Z') })).toBe(v2);
  });

  it('a submitted claim stays on the version it was pinned to, whatever is in effect', () => {
    expect(resolvePolicyVersion(source, { record: claim('2026.1', true), at: new Date('2026-07-01T00:00:00Z') })).toBe(v1);
  });

  it('a claim pinned to a version the service has not loaded is a policyUnavailable conflict', () => {
    expect(() => resolvePolicyVersion(source, { record: claim('2025.9', true), at: new Date('2026-07-01T00:00:00Z') })).toThrow(
      expect.objectContaining({ code: 'policyUnavailable', kind: 'conflict' }),
    );
  });

  it('a requested version wins over the instant, and an unknown one is unknownPolicyVersion naming the loaded versions', () => {
    expect(resolvePolicyVersion(source, { at: new Date('2026-07-01T00:00:00Z'), requested: '2026.1' })).toBe(v1);
    expect(() => resolvePolicyVersion(source, { at: new Date('2026-07-01T00:00:00Z'), requested: '1999.1' })).toThrow(
      expect.objectContaining({ code: 'unknownPolicyVersion', kind: 'notFound', message: expect.stringContaining('2026.1, 2026.2') }),
    );
  });
});
