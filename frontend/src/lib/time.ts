/** Date and time display: dayjs with the locales and plugins the UI uses, set up once. */
import dayjs from 'dayjs';
import 'dayjs/locale/zh-cn';
import relativeTime from 'dayjs/plugin/relativeTime';

dayjs.extend(relativeTime);

export type DayjsLocale = 'zh-cn' | 'en';

export function setTimeLocale(locale: DayjsLocale): void {
  dayjs.locale(locale);
}

/** "3 minutes ago" / "3 分钟前", or `null` when there is no time. */
export function formatRelative(value: string | null | undefined, now: dayjs.ConfigType = undefined): string | null {
  if (!value) return null;
  return dayjs(value).from(dayjs(now));
}

/** Local date and time, `YYYY-MM-DD HH:mm:ss`. */
export function formatDateTime(value: string | null | undefined): string | null {
  if (!value) return null;
  return dayjs(value).format('YYYY-MM-DD HH:mm:ss');
}

/** Axis label for a chart point: time only within a day, date and time beyond. */
export function formatAxisTime(value: string, spanHours: number): string {
  return dayjs(value).format(spanHours <= 24 ? 'HH:mm' : 'MM-DD HH:mm');
}
