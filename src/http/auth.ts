/** Bearer authentication: verifies the token and keeps the caller for the routes. */
import type { RequestHandler, Response } from 'express';
import { decodeJwt } from 'jose';
import type { Authenticator, Principal } from '../auth/authenticator';
import { UnauthenticatedError } from '../domain/errors';

const PRINCIPAL = 'principal';
const TOKEN = 'bearerToken';

/** Requires `Authorization: Bearer <token>`; a missing or invalid token is a 401. */
export function authenticate(authenticator: Authenticator): RequestHandler {
  return async (req, res, next) => {
    const header = req.get('authorization');
    if (header === undefined || header.trim() === '') {
      throw new UnauthenticatedError('missingToken', 'This endpoint needs a bearer token: send `Authorization: Bearer <token>`.');
    }
    const match = /^Bearer +(\S+) *$/i.exec(header);
    if (!match) {
      throw new UnauthenticatedError('invalidToken', 'The Authorization header must be `Bearer <token>`.');
    }
    res.locals[PRINCIPAL] = await authenticator.verify(match[1]!);
    // Its expiry is read only by a response that outlives its request (tokenExpiryOf).
    res.locals[TOKEN] = match[1]!;
    next();
  };
}

/** The verified caller of an authenticated route. */
export function principalOf(res: Response): Principal {
  const principal = res.locals[PRINCIPAL] as Principal | undefined;
  if (!principal) throw new Error('principalOf called on a route without authenticate()');
  return principal;
}

/** When the caller's token expires: a response that outlives its request (a stream) ends then. */
export function tokenExpiryOf(res: Response): Date | undefined {
  const token = res.locals[TOKEN] as string | undefined;
  if (token === undefined) return undefined;
  // The token verified, so its payload is trusted; every accepted token carries `exp`.
  const { exp } = decodeJwt(token);
  return typeof exp === 'number' ? new Date(exp * 1000) : undefined;
}
