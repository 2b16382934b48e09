/** The routes an Express app has registered, read off its router (not from any list the app keeps). */
import type { Express } from 'express';

export interface RegisteredRoute {
  method: string;
  /** Express path, `/v1/claims/:id`. */
  path: string;
}

interface Layer {
  route?: { path: string | string[]; methods: Record<string, boolean> };
  handle?: { stack?: Layer[] };
  rawPath?: string;
}

/** Every method and path the app's router answers, nested routers included. */
export function registeredRoutes(app: Express): RegisteredRoute[] {
  const routes: RegisteredRoute[] = [];
  const walk = (stack: Layer[], prefix: string) => {
    for (const layer of stack) {
      if (layer.route) {
        const paths = Array.isArray(layer.route.path) ? layer.route.path : [layer.route.path];
        for (const path of paths) {
          for (const [method, on] of Object.entries(layer.route.methods)) {
            if (on && method !== '_all') routes.push({ method, path: `${prefix}${path}` });
          }
        }
      } else if (layer.handle?.stack) {
        walk(layer.handle.stack, `${prefix}${typeof layer.rawPath === 'string' ? layer.rawPath : ''}`);
      }
    }
  };
  walk((app.router as unknown as { stack: Layer[] }).stack, '');
  return routes;
}

/** A concrete URL for a route path, with each `:param` replaced. */
export function concretePath(path: string, values: Record<string, string> = {}): string {
  return path.replace(/:([A-Za-z_][A-Za-z0-9_]*)/g, (_, name: string) => values[name] ?? `some-${name}`);
}
