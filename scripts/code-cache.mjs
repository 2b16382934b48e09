// The compiled service's one-file bundle, dist/cli.cjs (the whole CLI as one CommonJS file,
// scripts/build.mjs), run with V8's code cache: compiling ~2 MB of JavaScript took a fifth of the
// service's start-up, and Node 20 has no code cache for ES modules, only for a `vm.Script`.
//
// The build starts the service once from this bundle (a fresh data folder, PORT=0) and, when it
// stops, writes what V8 compiled for it (`createCachedData`, so the functions start-up runs are in
// it, not only the top level) next to the bundle: dist/cli.cjs.v8-<V8 version>-<arch>.cache.
// The file holds a header, then V8's data: a magic, the SHA-256 of the bundle it was made for and
// the SHA-256 of the data. A cache whose bundle digest differs (stale), whose data does not hash
// to its digest (corrupt, truncated) or that V8 refuses (another V8 or flags) is ignored: the
// bundle is then compiled as usual, never a crash and never code of another build.
import { isAscii } from 'node:buffer';
import { createHash } from 'node:crypto';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import vm from 'node:vm';

/** The one-file CommonJS bundle of src/cli.ts in dist/. */
export const SERVICE_BUNDLE = 'cli.cjs';

const MAGIC = Buffer.from('CPORV8C1');
const DIGEST_BYTES = 32;
const HEADER_BYTES = MAGIC.length + 2 * DIGEST_BYTES;

/** Where the code cache of `distDir`'s bundle is for this V8 and architecture. */
export function codeCachePath(distDir) {
  return join(distDir, `${SERVICE_BUNDLE}.v8-${process.versions.v8}-${process.arch}.cache`);
}

const sha256 = (bytes) => createHash('sha256').update(bytes).digest();

/** What a cache file's bytes hold for a bundle of digest `bundleDigest`: V8's data, or why not. */
function readCache(bytes, bundleDigest) {
  if (bytes.length <= HEADER_BYTES || !bytes.subarray(0, MAGIC.length).equals(MAGIC)) return { state: 'corrupt' };
  const madeFor = bytes.subarray(MAGIC.length, MAGIC.length + DIGEST_BYTES);
  const dataDigest = bytes.subarray(MAGIC.length + DIGEST_BYTES, HEADER_BYTES);
  const data = bytes.subarray(HEADER_BYTES);
  if (!sha256(data).equals(dataDigest)) return { state: 'corrupt' };
  if (!madeFor.equals(bundleDigest)) return { state: 'stale' };
  return { state: 'found', data };
}

/**
 * Compiles and runs `distDir`/cli.cjs as CommonJS with its code cache when a valid one is there.
 * Answers the bundle's exports, what became of the cache (`used`; `none`: no file; `stale`,
 * `corrupt` or `rejected`: ignored) and `writeCache()`, which writes V8's data as it is now.
 */
export function loadServiceBundle(distDir) {
  const file = resolve(distDir, SERVICE_BUNDLE);
  const source = readFileSync(file);
  const bundleDigest = sha256(source);
  const cacheFile = codeCachePath(distDir);
  let bytes;
  try {
    bytes = readFileSync(cacheFile);
  } catch {
    bytes = undefined;
  }
  const found = bytes ? readCache(bytes, bundleDigest) : { state: 'none' };
  // esbuild writes ASCII (escapes for the rest): then a one-byte string, with no UTF-8 to decode.
  const text = isAscii(source) ? source.toString('latin1') : source.toString('utf8');
  // CommonJS's wrapper on a line of its own: the bundle's lines keep their numbers in stack traces.
  const script = new vm.Script(`(function (exports, require, module, __filename, __dirname) {\n${text}\n})`, {
    filename: file,
    lineOffset: -1,
    ...(found.data ? { cachedData: found.data } : {}),
    importModuleDynamically: vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
  });
  const cache = found.data ? (script.cachedDataRejected ? 'rejected' : 'used') : found.state;
  const module = { exports: {} };
  script.runInThisContext()(module.exports, createRequire(file), module, file, dirname(file));
  const writeCache = () => {
    const data = script.createCachedData();
    const temporary = `${cacheFile}.${process.pid}.tmp`;
    writeFileSync(temporary, Buffer.concat([MAGIC, bundleDigest, sha256(data), data]));
    renameSync(temporary, cacheFile);
  };
  return { exports: module.exports, cache, writeCache };
}
