/** Client routes on the History API: the service answers index.html for each of them. */
import { useEffect, useState } from 'preact/hooks';

export type Route =
  | { name: 'signin' }
  | { name: 'callback' }
  | { name: 'home' }
  | { name: 'claims' }
  | { name: 'new' }
  | { name: 'claim'; id: string }
  | { name: 'history'; id: string }
  | { name: 'queues' }
  | { name: 'console' }
  | { name: 'consolePage'; slug: string; rest: string[] }
  | { name: 'notFound' };

export function parseRoute(pathname: string): Route {
  const parts = pathname.split('/').filter(Boolean).map(decodeURIComponent);
  if (parts.length === 0) return { name: 'home' };
  if (parts[0] === 'signin' && parts.length === 1) return { name: 'signin' };
  if (parts[0] === 'callback' && parts.length === 1) return { name: 'callback' };
  if (parts[0] === 'queues' && parts.length === 1) return { name: 'queues' };
  if (parts[0] === 'console') return parts.length === 1 ? { name: 'console' } : { name: 'consolePage', slug: parts[1]!, rest: parts.slice(2) };
  if (parts[0] === 'claims') {
    if (parts.length === 1) return { name: 'claims' };
    if (parts.length === 2 && parts[1] === 'new') return { name: 'new' };
    if (parts.length === 2) return { name: 'claim', id: parts[1]! };
    if (parts.length === 3 && parts[2] === 'history') return { name: 'history', id: parts[1]! };
  }
  return { name: 'notFound' };
}

const listeners = new Set<() => void>();
window.addEventListener('popstate', () => listeners.forEach((l) => l()));

export function navigate(path: string, replace = false): void {
  if (replace) history.replaceState(null, '', path);
  else history.pushState(null, '', path);
  listeners.forEach((l) => l());
  window.scrollTo(0, 0);
}

export function useLocation(): string {
  const [path, setPath] = useState(location.pathname + location.search);
  useEffect(() => {
    const update = () => setPath(location.pathname + location.search);
    listeners.add(update);
    return () => void listeners.delete(update);
  }, []);
  return path;
}

/** Props for an <a> that navigates inside the app (a real link: it opens in a new tab too). */
export function link(path: string) {
  return {
    href: path,
    onClick: (event: MouseEvent) => {
      if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
      event.preventDefault();
      navigate(path);
    },
  };
}

export const claimUrl = (id: string) => `/claims/${encodeURIComponent(id)}`;
