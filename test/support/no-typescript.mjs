// `node --import ./test/support/no-typescript.mjs …`: a module hook that fails any load of a
// TypeScript file or of tsx, in the main thread and in worker threads, so a test can show that
// the compiled build runs with no TypeScript compiler at run time.
import { register } from 'node:module';

const hooks = `
export async function resolve(specifier, context, next) {
  const resolved = await next(specifier, context);
  if (/\\.[cm]?ts$/.test(new URL(resolved.url).pathname) || resolved.url.includes('/node_modules/tsx/')) {
    throw new Error('TypeScript at run time: ' + resolved.url);
  }
  return resolved;
}`;
register(`data:text/javascript,${encodeURIComponent(hooks)}`);
