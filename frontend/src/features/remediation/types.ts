/** UI-side constants of the remediation area (wire types live in `lib/api-types.ts`). */
import type { RemediationStatus, RemediationTrigger } from '@/lib/api-types';

/** Every status, in the order a run moves through them, for the filter. */
export const REMEDIATION_STATUSES: readonly RemediationStatus[] = [
  'pending',
  'diagnosing',
  'pending_approval',
  'approved',
  'executing',
  'verifying',
  'success',
  'failed',
  'escalated',
  'rejected',
];

export const REMEDIATION_TRIGGERS: readonly RemediationTrigger[] = ['auto', 'manual'];

export const REMEDIATION_PAGE_SIZES = [10, 20, 50, 100] as const;
export const DEFAULT_REMEDIATION_PAGE_SIZE = 20;

/** The tabs of `/remediations`, kept in `?tab=`. */
export const REMEDIATION_TABS = ['runs', 'runbooks'] as const;
export type RemediationTab = (typeof REMEDIATION_TABS)[number];
