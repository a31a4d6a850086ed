/** Evidence references in words: "logs #12, #13 (×9)", with a link where the console has a page for the data. */
import type { EvidenceReference } from '@/lib/api-types';
import type { Translate } from '@/i18n/i18n';
import { formatDateTime } from '@/lib/time';

/** How many ids of a list are spelled out before "…". */
export const SHOWN_IDS = 5;

export interface ReferenceText {
  text: string;
  /** A console path showing the data. */
  href?: string;
  /** The time range, when the reference has one. */
  range?: string;
}

function idList(ids: readonly (number | string)[]): string {
  const shown = ids.slice(0, SHOWN_IDS).map((id) => `#${id}`);
  return ids.length > SHOWN_IDS ? `${shown.join(', ')}, …` : shown.join(', ');
}

function range(from: string, to: string): string {
  return `${formatDateTime(from) ?? from} → ${formatDateTime(to) ?? to}`;
}

export function describeReference(reference: EvidenceReference, t: Translate): ReferenceText {
  switch (reference.type) {
    case 'metric_series':
      return {
        text: t('ai.ref.metric', { metric: reference.metric, host: reference.host_id }),
        href: `/hosts/${reference.host_id}`,
        range: range(reference.from, reference.to),
      };
    case 'logs':
      return {
        text: t('ai.ref.logs', { ids: idList(reference.log_ids), count: reference.count }),
        range: range(reference.from, reference.to),
      };
    case 'service_checks':
      return {
        text:
          reference.check_ids.length > 0
            ? t('ai.ref.checks', { service: reference.service_id, ids: idList(reference.check_ids) })
            : t('ai.ref.service', { service: reference.service_id }),
      };
    case 'alert':
      return { text: t('ai.ref.alert', { id: reference.alert_id }), href: `/ai?alert=${reference.alert_id}` };
    case 'command':
      return { text: t('ai.ref.command', { id: reference.request_id }) };
    case 'memory':
      return { text: t('ai.ref.memory', { id: reference.memory_id }) };
    default: {
      // A reference kind newer than this client: show its tag rather than nothing.
      const unknown = reference as { type?: unknown };
      return { text: String(unknown.type ?? '?') };
    }
  }
}
