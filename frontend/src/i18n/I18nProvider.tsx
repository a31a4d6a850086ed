/**
 * Language state of the SPA: zh-CN by default, switchable to English, remembered in localStorage.
 * It also switches the dayjs locale; the antd locale is applied by the app's providers.
 */
import { useCallback, useEffect, useMemo, useState, type ReactNode } from 'react';
import { setTimeLocale } from '@/lib/time';
import { CATALOGUES, I18nContext, LOCALE_STORAGE_KEY, interpolate, storedLocale, type I18nContextValue, type Locale } from './i18n';

export function I18nProvider({ children, initialLocale }: { children: ReactNode; initialLocale?: Locale }) {
  const [locale, setLocaleState] = useState<Locale>(() => initialLocale ?? storedLocale());

  const setLocale = useCallback((next: Locale) => {
    localStorage.setItem(LOCALE_STORAGE_KEY, next);
    setLocaleState(next);
  }, []);

  const value = useMemo<I18nContextValue>(() => {
    // dayjs keeps its locale globally; switching it here, before the children render, keeps every
    // relative time in the same language as the text around it.
    setTimeLocale(locale === 'zh-CN' ? 'zh-cn' : 'en');
    const messages = CATALOGUES[locale];
    return { locale, setLocale, t: (key, values) => interpolate(messages[key], values) };
  }, [locale, setLocale]);

  useEffect(() => {
    document.documentElement.lang = locale;
  }, [locale]);

  return <I18nContext.Provider value={value}>{children}</I18nContext.Provider>;
}
