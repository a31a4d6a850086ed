/** A compact percentage bar for resource usage, coloured by `usageColor`. */
import { Progress, Typography } from 'antd';
import { usageColor } from './usage-color';


export function UsageBar({ percent, label }: { percent: number | null | undefined; label?: string }) {
  if (percent === null || percent === undefined || !Number.isFinite(percent)) {
    return <Typography.Text type="secondary">-</Typography.Text>;
  }
  const clamped = Math.max(0, Math.min(100, percent));
  return (
    <Progress
      percent={clamped}
      size="small"
      strokeColor={usageColor(clamped)}
      format={() => `${percent.toFixed(1)}%`}
      aria-label={label}
      style={{ minWidth: 96, marginBottom: 0 }}
    />
  );
}
