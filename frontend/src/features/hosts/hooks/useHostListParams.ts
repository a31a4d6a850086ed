/**
 * The host list's filters and page, kept in the URL so that a filtered view can be bookmarked,
 * shared and restored with the back button.
 */
import { useCallback, useMemo } from 'react';
import { useSearchParams } from 'react-router-dom';
import type { HostListQuery, HostStatus } from '@/lib/api-types';
import { DEFAULT_HOST_PAGE_SIZE, HOST_PAGE_SIZES } from '../types';

function positiveInt(raw: string | null, fallback: number): number {
  const value = Number(raw);
  return Number.isInteger(value) && value >= 1 ? value : fallback;
}

export function parseHostListParams(params: URLSearchParams): HostListQuery {
  const status = params.get('status');
  const pageSize = positiveInt(params.get('page_size'), DEFAULT_HOST_PAGE_SIZE);
  return {
    page: positiveInt(params.get('page'), 1),
    page_size: (HOST_PAGE_SIZES as readonly number[]).includes(pageSize) ? pageSize : DEFAULT_HOST_PAGE_SIZE,
    status: status === 'online' || status === 'offline' ? (status satisfies HostStatus) : undefined,
    search: params.get('search')?.trim() || undefined,
  };
}

export function useHostListParams(): [HostListQuery, (change: Partial<HostListQuery>) => void] {
  const [params, setParams] = useSearchParams();
  const query = useMemo(() => parseHostListParams(params), [params]);

  const update = useCallback(
    (change: Partial<HostListQuery>) => {
      setParams(
        (previous) => {
          const next = { ...parseHostListParams(previous), ...change };
          // A new filter starts again at the first page.
          if (('status' in change || 'search' in change || 'page_size' in change) && !('page' in change)) next.page = 1;
          const out = new URLSearchParams();
          if (next.page && next.page > 1) out.set('page', String(next.page));
          if (next.page_size && next.page_size !== DEFAULT_HOST_PAGE_SIZE) out.set('page_size', String(next.page_size));
          if (next.status) out.set('status', next.status);
          if (next.search) out.set('search', next.search);
          return out;
        },
        { replace: true },
      );
    },
    [setParams],
  );

  return [query, update];
}
