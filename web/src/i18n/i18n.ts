/** The message catalogs and the language in use: the stored choice, else the browser's, else English. */
import { de } from './de';
import { en, type MessageKey } from './en';

export const LANGUAGES = { en: 'English', de: 'Deutsch' } as const;
export type Language = keyof typeof LANGUAGES;
const CATALOGS: Record<Language, Record<MessageKey, string>> = { en, de };
const STORED = 'cpor.language';

export function initialLanguage(): Language {
  const stored = localStorage.getItem(STORED);
  if (stored === 'en' || stored === 'de') return stored;
  for (const tag of navigator.languages ?? [navigator.language]) {
    const base = tag.toLowerCase().split('-')[0];
    if (base === 'en' || base === 'de') return base;
  }
  return 'en';
}

let current: Language = 'en';

export function useLanguage(language: Language, remember: boolean): void {
  current = language;
  document.documentElement.lang = language;
  if (remember) localStorage.setItem(STORED, language);
}

export const language = (): Language => current;

/** The message for `key` in the language in use, with `{name}` placeholders filled. */
export function t(key: MessageKey, params: Record<string, string | number> = {}): string {
  return CATALOGS[current][key].replace(/\{(\w+)\}/g, (_, name: string) => String(params[name] ?? `{${name}}`));
}

/** An event's name for people (the API's name when the catalog has none). */
export function eventName(event: string): string {
  const key = `event.${event}` as MessageKey;
  return key in en ? t(key) : event;
}

/** A deadline's name for people (the policy's name when the catalog has none). */
export function deadlineName(name: string): string {
  const key = `deadline.${name}` as MessageKey;
  return key in en ? t(key) : name;
}
