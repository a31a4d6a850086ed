/**
 * The run list's filters and page, kept in the URL so a filtered view ("every run waiting for
 * approval") can be bookmarked, shared and restored with the back button.
 */
import { useCallback, useMemo } from 'react';
import { useSearchParams } from 'react-router-dom';
import type { RemediationListQuery, RemediationStatus, RemediationTrigger } from '@/lib/api-types';
import { DEFAULT_REMEDIATION_PAGE_SIZE, REMEDIATION_PAGE_SIZES, REMEDIATION_STATUSES, REMEDIATION_TRIGGERS } from '../types';

function positiveInt(raw: string | null, fallback: number): number {
  const value = Number(raw);
  return Number.isInteger(value) && value >= 1 ? value : fallback;
}

function optionalId(raw: string | null): number | undefined {
  const value = Number(raw);
  return raw !== null && Number.isInteger(value) && value >= 1 ? value : undefined;
}

export function parseRemediationListParams(params: URLSearchParams): RemediationListQuery {
  const status = params.get('status');
  const trigger = params.get('triggered_by');
  const pageSize = positiveInt(params.get('page_size'), DEFAULT_REMEDIATION_PAGE_SIZE);
  return {
    page: positiveInt(params.get('page'), 1),
    page_size: (REMEDIATION_PAGE_SIZES as readonly number[]).includes(pageSize) ? pageSize : DEFAULT_REMEDIATION_PAGE_SIZE,
    status: REMEDIATION_STATUSES.find((known): known is RemediationStatus => known === status),
    triggered_by: REMEDIATION_TRIGGERS.find((known): known is RemediationTrigger => known === trigger),
    host_id: optionalId(params.get('host_id')),
    alert_id: optionalId(params.get('alert_id')),
  };
}

/** Writes a query back as URL parameters, leaving defaults out; other parameters (the tab) stay. */
export function remediationListSearch(query: RemediationListQuery, base: URLSearchParams): URLSearchParams {
  const out = new URLSearchParams(base);
  for (const key of ['page', 'page_size', 'status', 'triggered_by', 'host_id', 'alert_id']) out.delete(key);
  if (query.page && query.page > 1) out.set('page', String(query.page));
  if (query.page_size && query.page_size !== DEFAULT_REMEDIATION_PAGE_SIZE) out.set('page_size', String(query.page_size));
  if (query.status) out.set('status', query.status);
  if (query.triggered_by) out.set('triggered_by', query.triggered_by);
  if (query.host_id) out.set('host_id', String(query.host_id));
  if (query.alert_id) out.set('alert_id', String(query.alert_id));
  return out;
}

export function useRemediationListParams(): [RemediationListQuery, (change: Partial<RemediationListQuery>) => void] {
  const [params, setParams] = useSearchParams();
  const query = useMemo(() => parseRemediationListParams(params), [params]);

  const update = useCallback(
    (change: Partial<RemediationListQuery>) => {
      setParams(
        (previous) => {
          const next = { ...parseRemediationListParams(previous), ...change };
          // A new filter starts again at the first page.
          if (!('page' in change)) next.page = 1;
          return remediationListSearch(next, previous);
        },
        { replace: true },
      );
    },
    [setParams],
  );

  return [query, update];
}
