/** `cpor serve`: runs the service until SIGTERM or SIGINT. */
import type { Output } from './output';
import { configOrExplain } from './service-config';

export async function serveCommand(out: Output): Promise<number> {
  const config = configOrExplain(out);
  if (!config) return 1;
  let running;
  try {
    // Loaded on demand: token, audit and backtest need no Express.
    running = await (await import('../server')).startService(config);
  } catch (error) {
    out.stderr(`cpor serve: cannot start: ${(error as Error).message}\n`);
    return 1;
  }
  const service = running;
  return new Promise<number>((resolve) => {
    let parentWatch: NodeJS.Timeout | undefined;
    const stop = (signal: string) => {
      clearInterval(parentWatch);
      service.logger.info({ signal }, 'shutting down');
      service.close().then(
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
