/**
 * `/v1/auth`: how a client signs in (development sign-in, OpenID Connect, demo mode), and the
 * development token route, which exists only while the service signs with its generated secret.
 */
import { mintToken } from '../auth/mint-token';
import { InputError } from '../domain/errors';
import { HttpError } from './errors';
import type { HttpContext } from './context';
import { jsonBody } from './json-body';
import type { RouteSpec } from './route-spec';
import { validateInput } from './validation';

/** What the dashboard's sign-in needs to know of the service's authentication. */
export interface AuthSettings {
  /** The generated development secret, only when the service signs with it (no JWT_SECRET, JWKS_URL or OIDC_ISSUER). */
  devSecret?: Uint8Array;
  /** Lifetime of a development token, in seconds (at most the service's JWT_MAX_LIFETIME_SECONDS). */
  devTokenLifetimeSec: number;
  oidc?: { issuer: string; clientId: string; scope: string };
  demo: boolean;
  /** JWT_ISSUER and JWT_AUDIENCE, which the service requires of every token. */
  issuer?: string;
  audience?: string;
  /** The clock tokens are issued by (the authenticator's: real time, also in demo mode). */
  now?: () => Date;
}

/** A development token lives eight hours (a working day), unless the service accepts less. */
export const DEV_TOKEN_LIFETIME_SEC = 8 * 3600;

const configSchema = {
  type: 'object',
  required: ['devSignIn', 'demo', 'oidc'],
  properties: {
    devSignIn: {
      type: 'boolean',
      description: 'POST /v1/auth/dev-token works: the service signs with its generated development secret (never in production).',
    },
    demo: { type: 'boolean', description: 'The service runs in demo mode (`cpor serve --demo`): a virtual clock at /v1/demo/clock.' },
    oidc: {
      anyOf: [
        {
          type: 'object',
          required: ['issuer', 'clientId', 'scope'],
          properties: {
            issuer: { type: 'string', description: 'OIDC_ISSUER: discovery at <issuer>/.well-known/openid-configuration.' },
            clientId: { type: 'string', description: 'OIDC_CLIENT_ID: the public client (authorization code with PKCE S256).' },
            scope: { type: 'string', description: 'OIDC_SCOPE.' },
          },
        },
        { type: 'null' },
      ],
      description: 'OpenID Connect sign-in, when an issuer is configured; null otherwise.',
    },
  },
} as const;

const devTokenBodySchema = {
  type: 'object',
  additionalProperties: false,
  required: ['role'],
  properties: {
    role: { type: 'string', minLength: 1, maxLength: 100, description: 'A role of the policy in effect (GET /v1/policies/current lists them).' },
    partnerId: { type: 'string', minLength: 1, maxLength: 100, description: 'Required for a partner role: the partner ID it acts for.' },
    tenantId: { type: 'string', minLength: 1, maxLength: 100, description: 'Required for a customer role: the customer tenant.' },
    name: { type: 'string', minLength: 1, maxLength: 200, description: 'A display name (the token\'s `name` claim).' },
  },
} as const;

const devTokenSchema = {
  type: 'object',
  required: ['token', 'expiresAt'],
  properties: {
    token: { type: 'string', description: 'A bearer token (HS256, signed with the development secret).' },
    expiresAt: { type: 'string', format: 'date-time' },
  },
} as const;

interface DevTokenBody {
  role: string;
  partnerId?: string;
  tenantId?: string;
  name?: string;
}

export function authRoutes(ctx: HttpContext, settings: AuthSettings): RouteSpec[] {
  const { deps } = ctx;
  return [
    {
      method: 'get',
      path: '/v1/auth/config',
      operationId: 'getAuthConfig',
      summary: 'How to sign in: development sign-in, OpenID Connect, demo mode',
      tag: 'auth',
      auth: false,
      responses: { 200: { description: 'The sign-in settings', content: { 'application/json': configSchema } } },
      problems: [],
      handlers: [
        (_req, res) => {
          res.json({ devSignIn: settings.devSecret !== undefined, demo: settings.demo, oidc: settings.oidc ?? null });
        },
      ],
    },
    {
      method: 'post',
      path: '/v1/auth/dev-token',
      operationId: 'createDevToken',
      summary: 'A development token for a role (only while the service signs with its generated development secret)',
      description:
        'For trying the service out: anyone who can reach it may sign in as any role, so it exists only while no JWT_SECRET, ' +
        'JWKS_URL or OIDC_ISSUER is configured; otherwise 404 `devSignInUnavailable`. A partner role needs `partnerId`, ' +
        'a customer role `tenantId`.',
      tag: 'auth',
      auth: false,
      body: { required: true, content: { 'application/json': devTokenBodySchema } },
      responses: { 201: { description: 'The token', content: { 'application/json': devTokenSchema } } },
      problems: [400, 404, 413, 415],
      handlers: [
        (_req, _res, next) => {
          if (!settings.devSecret) {
            throw new HttpError(
              'devSignInUnavailable',
              'Development sign-in is off: this service verifies tokens from a configured secret or identity provider; sign in there.',
            );
          }
          next();
        },
        ...jsonBody(ctx.limits.jsonBodyBytes),
        async (req, res) => {
          const body = validateInput<DevTokenBody>(devTokenBodySchema, req.body);
          const { roles } = deps.service.policy.policy;
          const role = Object.hasOwn(roles, body.role) ? roles[body.role] : undefined;
          if (!role) {
            throw new InputError('invalidPayload', `"${body.role}" is not a role of the policy in effect; roles: ${Object.keys(roles).join(', ')}.`, '$.role');
          }
          if (role.kind === 'partner' && body.partnerId === undefined) {
            throw new InputError('invalidPayload', `The partner role ${body.role} acts for a partner ID: give partnerId.`, '$.partnerId');
          }
          if (role.kind === 'customer' && body.tenantId === undefined) {
            throw new InputError('invalidPayload', `The customer role ${body.role} acts for a tenant: give tenantId.`, '$.tenantId');
          }
          const now = settings.now?.() ?? new Date();
          const token = await mintToken({
            secret: settings.devSecret!,
            role: body.role,
            ...(role.kind === 'partner' ? { partnerId: body.partnerId } : {}),
            ...(role.kind === 'customer' ? { tenantId: body.tenantId } : {}),
            ...(body.name !== undefined ? { name: body.name } : {}),
            ...(settings.issuer !== undefined ? { issuer: settings.issuer } : {}),
            ...(settings.audience !== undefined ? { audience: settings.audience } : {}),
            expiresIn: settings.devTokenLifetimeSec,
            maxLifetimeSeconds: settings.devTokenLifetimeSec,
            now: () => now,
          });
          const expiresAt = new Date((Math.floor(now.getTime() / 1000) + settings.devTokenLifetimeSec) * 1000);
          res.status(201).json({ token, expiresAt: expiresAt.toISOString() });
        },
      ],
    },
  ];
}
