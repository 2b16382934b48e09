/** `cpor serve`: runs the service until SIGTERM or SIGINT. */
import type { Output } from './output';
import { configOrExplain } from './service-config';
import { demoConfig, demoRefusals } from '../demo/demo-mode';

export async function serveCommand(out: Output, options: { demo?: boolean } = {}): Promise<number> {
  let config = configOrExplain(out);
  if (!config) return 1;
  let discard = async () => {};
  if (options.demo) {
    const refusals = demoRefusals(config);
    if (refusals.length > 0) {
      for (const refusal of refusals) out.stderr(`cpor serve --demo: ${refusal}\n`);
      return 1;
    }
    ({ config, discard } = await demoConfig(config));
  }
  let running;
  try {
    // Loaded on demand: token, audit and backtest need no Express.
    running = await (await import('../server')).startService(config, { demo: options.demo === true });
  } catch (error) {
    await discard();
    out.stderr(`cpor serve: cannot start: ${(error as Error).message}\n`);
    return 1;
  }
  if (options.demo) {
    out.stderr(
      `cpor serve --demo: ${running.url} (demo claims on a virtual clock; sign in with the development sign-in; data in ${config.dataDir}, removed on exit)\n`,
    );
  }
  const service = running;
  return new Promise<number>((resolve) => {
    let parentWatch: NodeJS.Timeout | undefined;
    const stop = (signal: string) => {
      clearInterval(parentWatch);
      service.logger.info({ signal }, 'shutting down');
      service.close().then(discard).then(
        () => resolve(0),
        (error: unknown) => {
          service.logger.error({ err: error }, 'shutdown failed');
          resolve(1);
        },
      );
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
    // Started by an npm script (npm start): if npm goes away without passing its signal on (a
    // shell between them, npm killed), stop rather than stay behind orphaned and listening.
    if (process.env.npm_lifecycle_event !== undefined) {
      const parent = process.ppid;
      parentWatch = setInterval(() => {
        if (process.ppid !== parent) stop('parent exited');
      }, 500);
      parentWatch.unref();
    }
  });
}
