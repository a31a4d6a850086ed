/** Number formatting for metrics: sizes given in MB or KB/s by the API, and percentages. */

const SIZE_UNITS = ['MB', 'GB', 'TB', 'PB'];

/** 1536 → "1.5 GB". */
export function formatMegabytes(mb: number | null | undefined): string {
  if (mb === null || mb === undefined || !Number.isFinite(mb)) return '-';
  let value = mb;
  let unit = 0;
  while (value >= 1024 && unit < SIZE_UNITS.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value >= 100 || unit === 0 ? Math.round(value) : value.toFixed(1)} ${SIZE_UNITS[unit]}`;
}

/** KB/s → "12.3 KB/s" or "1.2 MB/s". */
export function formatRateKb(kb: number | null | undefined): string {
  if (kb === null || kb === undefined || !Number.isFinite(kb)) return '-';
  if (kb >= 1024 * 1024) return `${(kb / 1024 / 1024).toFixed(1)} GB/s`;
  if (kb >= 1024) return `${(kb / 1024).toFixed(1)} MB/s`;
  return `${kb.toFixed(1)} KB/s`;
}

/** 12.345 → "12.3%". */
export function formatPercent(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '-';
  return `${value.toFixed(1)}%`;
}
