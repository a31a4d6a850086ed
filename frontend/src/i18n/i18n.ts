/** Locales, message lookup and the `useI18n` hook. The provider lives in `I18nProvider.tsx`. */
import { createContext, useContext } from 'react';
import { en } from './en';
import { zhCN, type MessageKey, type Messages } from './zh-CN';

export type Locale = 'zh-CN' | 'en';

export const LOCALES: readonly { value: Locale; label: string }[] = [
  { value: 'zh-CN', label: '简体中文' },
  { value: 'en', label: 'English' },
];

export const LOCALE_STORAGE_KEY = 'vigilops_locale';
export const DEFAULT_LOCALE: Locale = 'zh-CN';

export const CATALOGUES: Record<Locale, Messages> = { 'zh-CN': zhCN, en };

export type Translate = (key: MessageKey, values?: Record<string, string | number>) => string;

export interface I18nContextValue {
  locale: Locale;
  setLocale: (locale: Locale) => void;
  t: Translate;
}

export const I18nContext = createContext<I18nContextValue | null>(null);

export function storedLocale(): Locale {
  const raw = localStorage.getItem(LOCALE_STORAGE_KEY);
  return LOCALES.find((entry) => entry.value === raw)?.value ?? DEFAULT_LOCALE;
}

/** Fills `{name}` placeholders; unknown placeholders are left as they are. */
export function interpolate(template: string, values?: Record<string, string | number>): string {
  if (!values) return template;
  return template.replace(/\{(\w+)\}/g, (whole, name: string) =>
    name in values ? String(values[name]) : whole,
  );
}

export function useI18n(): I18nContextValue {
  const context = useContext(I18nContext);
  if (!context) throw new Error('useI18n must be used inside <I18nProvider>');
  return context;
}
