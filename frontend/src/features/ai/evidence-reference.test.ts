import { describe, expect, it } from 'vitest';
import { en } from '@/i18n/en';
import { interpolate, type Translate } from '@/i18n/i18n';
import { describeReference } from './evidence-reference';

const t: Translate = (key, values) => interpolate(en[key], values);
const from = '2026-11-27T01:00:00Z';
const to = '2026-11-27T02:00:00Z';

describe('describeReference', () => {
  it('words every reference kind, linking what the console can show', () => {
    expect(describeReference({ type: 'metric_series', host_id: 3, metric: 'cpu_percent', from, to }, t)).toMatchObject({
      text: 'cpu_percent of host #3',
      href: '/hosts/3',
    });
    expect(describeReference({ type: 'logs', log_ids: [12, 13], count: 9, from, to }, t).text).toBe('logs #12, #13 (×9)');
    expect(describeReference({ type: 'service_checks', service_id: 4, check_ids: [1, 2] }, t).text).toBe('service #4 checks #1, #2');
    expect(describeReference({ type: 'service_checks', service_id: 4, check_ids: [] }, t).text).toBe('checks of service #4');
    expect(describeReference({ type: 'alert', alert_id: 8 }, t)).toEqual({ text: 'alert #8', href: '/ai?alert=8' });
    expect(describeReference({ type: 'command', request_id: 'req-1' }, t).text).toBe('command req-1');
    expect(describeReference({ type: 'memory', memory_id: 5 }, t).text).toBe('past incident #5');
  });

  it('shortens long id lists and keeps the time range', () => {
    const reference = describeReference({ type: 'logs', log_ids: [1, 2, 3, 4, 5, 6, 7], count: 70, from, to }, t);
    expect(reference.text).toBe('logs #1, #2, #3, #4, #5, … (×70)');
    expect(reference.range).toContain('→');
  });

  it('shows the tag of a reference kind it does not know', () => {
    expect(describeReference({ type: 'trace', trace_id: 'x' } as never, t).text).toBe('trace');
  });
});
