/** The HS256 signing secret: JWT_SECRET, or a random one kept under the data directory. */
import { randomBytes } from 'node:crypto';
import { chmod, link, mkdir, open, readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { MIN_SECRET_BYTES } from './jwt-authenticator';

const SECRET_FILE_NAME = 'jwt-secret';

/**
 * Returns `envSecret` as UTF-8 bytes when it is given (at least 32 bytes), else the bytes of
 * `${dataDir}/jwt-secret`, creating that file (32 random bytes, mode 0600) on first use.
 */
export async function loadOrCreateSecret(dataDir: string, envSecret?: string): Promise<Uint8Array> {
  if (envSecret !== undefined) {
    const bytes = new TextEncoder().encode(envSecret);
    if (bytes.byteLength < MIN_SECRET_BYTES) {
      throw new Error(
        `JWT_SECRET must be at least ${MIN_SECRET_BYTES} bytes long (it has ${bytes.byteLength}); ` +
          'generate one with `openssl rand -base64 32`, or unset it to use a generated secret.',
      );
    }
    return bytes;
  }
  const path = join(dataDir, SECRET_FILE_NAME);
  const existing = await readSecretFile(path);
  if (existing) return existing;

  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const temp = join(dataDir, `.${SECRET_FILE_NAME}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    const handle = await open(temp, 'wx', 0o600);
    try {
      await handle.writeFile(randomBytes(MIN_SECRET_BYTES));
      await handle.sync();
    } finally {
      await handle.close();
    }
    await chmod(temp, 0o600);
    // link(), unlike rename(), never replaces an existing file: when two processes start at once,
    // exactly one link succeeds and the other reads the winner's secret instead of overwriting it.
    try {
      await link(temp, path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
  } finally {
    await unlink(temp).catch(() => undefined);
  }
  const secret = await readSecretFile(path);
  if (!secret) throw new Error(`Could not create the JWT secret file ${path}.`);
  return secret;
}

async function readSecretFile(path: string): Promise<Uint8Array | undefined> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  if (bytes.byteLength < MIN_SECRET_BYTES) {
    throw new Error(
      `${path} holds a secret of ${bytes.byteLength} bytes (at least ${MIN_SECRET_BYTES} are needed); ` +
        'delete it to have a new one generated (tokens signed with the old one stop working), or set JWT_SECRET.',
    );
  }
  return new Uint8Array(bytes);
}
