/** A time shown relative to now ("3 分钟前"), with the exact local time in a tooltip. */
import { Tooltip, Typography } from 'antd';
import { formatDateTime, formatRelative } from '@/lib/time';

export function RelativeTime({ value, fallback = '-' }: { value: string | null | undefined; fallback?: string }) {
  const relative = formatRelative(value);
  if (!relative) return <Typography.Text type="secondary">{fallback}</Typography.Text>;
  return (
    <Tooltip title={formatDateTime(value)}>
      <span>{relative}</span>
    </Tooltip>
  );
}
