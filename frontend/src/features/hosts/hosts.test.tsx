import { screen, waitFor, within } from '@testing-library/react';
import userEvent, { PointerEventsCheckLevel } from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import type { MetricPoint } from '@/lib/api-types';
import { json, mockFetch } from '@/testing/fetch-mock';
import { consoleRoutes, host, page, signIn } from '@/testing/fixtures';
import { renderApp } from '@/testing/render';

const hosts = [host(1), host(2, { hostname: 'db-01', status: 'offline', latest_metrics: null, last_heartbeat: null })];

function point(hostId: number, minutesAgo: number): MetricPoint {
  return {
    id: 0,
    host_id: hostId,
    cpu_percent: 10,
    cpu_load_1: 0.5,
    cpu_load_5: 0.4,
    cpu_load_15: 0.3,
    memory_used_mb: 1000,
    memory_percent: 40,
    disk_used_mb: 5000,
    disk_total_mb: 10000,
    disk_percent: 50,
    net_bytes_sent: 1,
    net_bytes_recv: 1,
    net_send_rate_kb: 3,
    net_recv_rate_kb: 4,
    net_packet_loss_rate: 0,
    recorded_at: new Date(Date.now() - minutesAgo * 60_000).toISOString(),
  };
}

describe('hosts', () => {
  it('passes the URL filters and page to the server and renders the page it returns', async () => {
    signIn('viewer');
    const server = mockFetch({
      ...consoleRoutes('viewer'),
      'GET /api/v1/hosts': () => json(200, page([hosts[1]!], 41, 3, 20)),
    });
    renderApp('/hosts?status=offline&search=db&page=3');

    const link = await screen.findByText('db-01');
    expect(link.closest('a')).toHaveAttribute('href', '/hosts/2');
    expect(screen.getByText('41 in total')).toBeInTheDocument();
    expect(screen.getByText('Never')).toBeInTheDocument(); // no heartbeat yet
    const query = server.callsTo('GET', '/api/v1/hosts').at(-1)!.url.searchParams;
    expect(Object.fromEntries(query)).toEqual({ status: 'offline', search: 'db', page: '3', page_size: '20' });
  });

  it('starts a new search on the first page', async () => {
    signIn('viewer');
    const server = mockFetch({ ...consoleRoutes('viewer', hosts) });
    const app = renderApp('/hosts?page=2');
    const events = userEvent.setup({ delay: null, pointerEventsCheck: PointerEventsCheckLevel.Never });

    await events.type(await screen.findByPlaceholderText('Search hostname'), 'web{Enter}');
    await waitFor(() => expect(app.currentPath()).toBe('/hosts?search=web'));
    await waitFor(() =>
      expect(server.callsTo('GET', '/api/v1/hosts').at(-1)!.url.searchParams.toString()).toBe('page=1&page_size=20&search=web'),
    );
  });

  it('asks for the metric interval that fits the chosen range', async () => {
    signIn('viewer');
    const server = mockFetch({
      ...consoleRoutes('viewer', hosts),
      'GET /api/v1/hosts/:id': ({ params }) => json(200, hosts.find((h) => h.id === Number(params.id))),
      'GET /api/v1/hosts/:id/metrics': ({ params }) => json(200, [point(Number(params.id), 10), point(Number(params.id), 5)]),
    });
    renderApp('/hosts/1');
    const events = userEvent.setup({ delay: null, pointerEventsCheck: PointerEventsCheckLevel.Never });

    expect(await screen.findByText('Granularity: raw samples')).toBeInTheDocument();
    expect(await screen.findByLabelText('CPU usage')).toBeInTheDocument();
    const metricQuery = () => Object.fromEntries(server.callsTo('GET', '/api/v1/hosts/1/metrics').at(-1)!.url.searchParams);
    expect(metricQuery()).toEqual({ hours: '1', interval: 'raw' });

    await events.click(screen.getByText('7 days'));
    await waitFor(() => expect(metricQuery()).toEqual({ hours: '168', interval: '1h' }));
    expect(screen.getByTestId('metric-interval')).toHaveTextContent('Granularity: 1 hour');

    await events.click(screen.getByText('30 days'));
    await waitFor(() => expect(metricQuery()).toEqual({ hours: '720', interval: '1d' }));
  });

  it('shows a not-found page for an unknown host', async () => {
    signIn('viewer');
    mockFetch({
      ...consoleRoutes('viewer', hosts),
      'GET /api/v1/hosts/:id': () => json(404, { detail: 'Host not found' }),
      'GET /api/v1/hosts/:id/metrics': () => json(404, { detail: 'Host not found' }),
    });
    renderApp('/hosts/99');
    expect(await screen.findByText('This host does not exist or has been deleted')).toBeInTheDocument();
    expect(within(document.body).queryByText('Overview')).toBeNull();
  });
});
