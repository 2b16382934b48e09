/** `cpor token`: mints a bearer token the service accepts (no identity provider configured). */
import { loadOrCreateSecret } from '../auth/load-or-create-secret';
import { mintToken } from '../auth/mint-token';
import type { Config } from '../config';
import { createPolicyRegistry } from '../policies/policy-registry';
import { PolicyError, formatIssue } from '../rules/load-policy';
import type { Output } from './output';
import { configOrExplain } from './service-config';
import { systemClock } from '../system-clock';

export async function tokenCommand(
  options: { role: string; partnerId?: string; tenantId?: string; subject?: string; expiresIn?: string },
  out: Output,
): Promise<number> {
  const config = configOrExplain(out);
  if (!config) return 1;
  if (config.jwksUrl) {
    out.stderr('cpor token: JWKS_URL is set: tokens come from your identity provider, not from this command.\n');
    return 1;
  }
  // A token the service would refuse is no use: check the role against the policy in effect.
  const refusal = await tokenRefusal(config, options);
  if (refusal) {
    out.stderr(`cpor token: ${refusal}\n`);
    return 2;
  }
  const secret = await loadOrCreateSecret(config.dataDir, config.jwtSecret);
  out.stdout(
    `${await mintToken({ secret, ...options, issuer: config.jwtIssuer, audience: config.jwtAudience, maxLifetimeSeconds: config.jwtMaxLifetimeSeconds })}\n`,
  );
  return 0;
}

/** Why the service would refuse a token with these claims (role unknown to the policy in effect, missing id), or undefined. */
async function tokenRefusal(config: Config, options: { role: string; partnerId?: string; tenantId?: string }): Promise<string | undefined> {
  let roles;
  try {
    const registry = await createPolicyRegistry({ path: config.policyPath, clock: systemClock });
    roles = registry.current(new Date()).policy.roles;
    registry.stop();
  } catch (error) {
    if (!(error instanceof PolicyError)) throw error;
    return `the policies (${config.policyPath}) do not load:\n${error.issues.map(formatIssue).join('\n')}`;
  }
  const role = Object.hasOwn(roles, options.role) ? roles[options.role] : undefined;
  if (!role) return `"${options.role}" is not a role of the policy in effect; roles: ${Object.keys(roles).join(', ')}`;
  if (role.kind === 'partner' && !options.partnerId?.trim()) return `the partner role "${options.role}" needs --partner ID`;
  if (role.kind === 'customer' && !options.tenantId?.trim()) return `the customer role "${options.role}" needs --tenant ID`;
  return undefined;
}
