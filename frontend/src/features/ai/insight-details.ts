/** Reading the free-form `details` of a stored insight. */
import type { EvidenceItem, Insight, MemoryIncident, RootCauseAnalysis } from '@/lib/api-types';

export interface RootCauseDetails {
  analysis: RootCauseAnalysis;
  evidence_items: EvidenceItem[];
  similar_incidents?: MemoryIncident[];
  error?: string | null;
}

/** The stored details of a root-cause insight, when they have the shape the analysis view needs. */
export function rootCauseDetails(insight: Insight): RootCauseDetails | null {
  if (insight.insight_type !== 'root_cause' || !insight.details) return null;
  const { analysis, evidence_items: items, similar_incidents: similar, error } = insight.details as Record<string, unknown>;
  if (typeof analysis !== 'object' || analysis === null || !('root_cause' in analysis) || !('claims' in analysis)) return null;
  return {
    analysis: analysis as RootCauseAnalysis,
    evidence_items: Array.isArray(items) ? (items as EvidenceItem[]) : [],
    similar_incidents: Array.isArray(similar) ? (similar as MemoryIncident[]) : undefined,
    error: typeof error === 'string' ? error : null,
  };
}
