/** UI-side constants of the AI area (wire types live in `lib/api-types.ts`). */

/**
 * The log levels the analysis can be narrowed to, as the agents report them. Without one the server
 * takes the problem levels (WARN, WARNING, ERROR, CRITICAL, FATAL).
 */
export const LOG_LEVELS = ['FATAL', 'CRITICAL', 'ERROR', 'WARN', 'INFO', 'DEBUG'] as const;

/** Insight filters: the values the server writes (`NewInsight` in vigilops-core). */
export const INSIGHT_SEVERITIES = ['critical', 'warning', 'info'] as const;
export const INSIGHT_TYPES = ['root_cause', 'anomaly', 'chat'] as const;
export const INSIGHT_STATUSES = ['new', 'acknowledged', 'resolved'] as const;

export const INSIGHT_PAGE_SIZES = [10, 20, 50] as const;
export const DEFAULT_INSIGHT_PAGE_SIZE = 10;

/** The tabs of the AI page, kept in the URL (`?tab=`). */
export const AI_TABS = ['root-cause', 'chat', 'logs', 'insights', 'memory'] as const;
export type AiTab = (typeof AI_TABS)[number];
