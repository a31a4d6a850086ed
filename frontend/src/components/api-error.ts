/** Turns any request failure into text for the user, in the current language. */
import { isApiError } from '@/lib/api-client';
import { useI18n, type Translate } from '@/i18n/i18n';

export function describeError(error: unknown, t: Translate): string {
  if (!isApiError(error)) return t('error.loadFailed');
  if (error.detail) return error.detail;
  if (error.kind === 'timeout') return t('error.timeout');
  if (error.kind === 'network') return t('error.network');
  return t('error.http', { status: error.status });
}

export function useDescribeError(): (error: unknown) => string {
  const { t } = useI18n();
  return (error) => describeError(error, t);
}
