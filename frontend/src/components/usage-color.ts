/** The colour of a resource usage percentage: green, then orange from 70 %, red from 90 %. */
export const USAGE_WARNING = 70;
export const USAGE_DANGER = 90;

export function usageColor(percent: number): string {
  if (percent >= USAGE_DANGER) return '#ff4d4f';
  if (percent >= USAGE_WARNING) return '#faad14';
  return '#52c41a';
}
