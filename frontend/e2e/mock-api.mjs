// An in-memory stand-in for the VigilOps REST API, answering the browser's /api/v1 calls through
// Playwright's page.route. It lets e2e/smoke.mjs drive the built SPA (`vite preview`) before a real
// server exists. Shapes follow shared/protocol/rest-api.md; it is NOT a spec of server behaviour.

const HOURS_MS = 3_600_000;

function json(route, status, body) {
  return route.fulfill({
    status,
    contentType: 'application/json',
    body: body === undefined ? '' : JSON.stringify(body),
  });
}

/** Deterministic pseudo-random numbers, so screenshots are stable between runs. */
function seeded(seed) {
  let state = seed;
  return () => {
    state = (state * 1664525 + 1013904223) % 4294967296;
    return state / 4294967296;
  };
}

const HOSTS = [
  ['web-prod-01', '10.0.1.11', 'Ubuntu', '24.04', 'online', 'production', 8, 32768],
  ['web-prod-02', '10.0.1.12', 'Ubuntu', '24.04', 'online', 'production', 8, 32768],
  ['api-gateway', '10.0.1.20', 'Debian', '12', 'online', 'production', 4, 16384],
  ['db-primary', '10.0.2.10', 'Rocky Linux', '9.4', 'online', 'database', 16, 65536],
  ['db-replica', '10.0.2.11', 'Rocky Linux', '9.4', 'offline', 'database', 16, 65536],
  ['cache-redis', '10.0.3.5', 'Debian', '12', 'online', null, 2, 8192],
  ['batch-worker', '10.0.4.30', 'CentOS', '7.9', 'offline', null, 4, 16384],
].map(([hostname, ip, os, version, status, group, cores, memory], index) => {
  const random = seeded(index + 7);
  const now = Date.now();
  const online = status === 'online';
  return {
    id: index + 1,
    hostname,
    ip_address: ip,
    os,
    os_version: version,
    arch: 'x86_64',
    cpu_cores: cores,
    memory_total_mb: memory,
    agent_version: index === 6 ? '0.1.4' : '0.2.5',
    status,
    tags: null,
    group_name: group,
    last_heartbeat: new Date(now - (online ? 20_000 + index * 7_000 : (index + 1) * 1_900_000)).toISOString(),
    created_at: new Date(now - 40 * 24 * HOURS_MS).toISOString(),
    updated_at: new Date(now - 60_000).toISOString(),
    latest_metrics: online
      ? {
          cpu_percent: Math.round((8 + random() * 80) * 10) / 10,
          memory_percent: Math.round((30 + random() * 60) * 10) / 10,
          memory_used_mb: Math.round(memory * 0.5),
          disk_percent: Math.round((20 + random() * 75) * 10) / 10,
          disk_used_mb: 120_000,
          disk_total_mb: 204_800,
          cpu_load_1: Math.round(random() * cores * 100) / 100,
          cpu_load_5: Math.round(random() * cores * 100) / 100,
          cpu_load_15: Math.round(random() * cores * 100) / 100,
          recorded_at: new Date(now - 15_000).toISOString(),
        }
      : null,
  };
});

const STEP_MS = { raw: 15_000, '5min': 300_000, '1h': HOURS_MS, '1d': 24 * HOURS_MS };

function metrics(hostId, hours, interval) {
  const step = STEP_MS[interval] ?? STEP_MS.raw;
  const end = Date.now();
  const start = end - hours * HOURS_MS;
  const random = seeded(hostId * 31 + hours);
  const points = [];
  for (let t = Math.ceil(start / step) * step; t <= end; t += step) {
    const phase = (t / HOURS_MS) * 0.9 + hostId;
    const cpu = Math.max(1, Math.min(99, 28 + 18 * Math.sin(phase) + random() * 12));
    points.push({
      id: interval === 'raw' ? points.length + 1 : 0,
      host_id: hostId,
      cpu_percent: Math.round(cpu * 10) / 10,
      cpu_load_1: Math.round((cpu / 25) * 100) / 100,
      cpu_load_5: Math.round((cpu / 28) * 100) / 100,
      cpu_load_15: Math.round((cpu / 31) * 100) / 100,
      memory_used_mb: 16_000,
      memory_percent: Math.round((55 + 6 * Math.sin(phase / 3) + random() * 3) * 10) / 10,
      disk_used_mb: 120_000,
      disk_total_mb: 204_800,
      disk_percent: Math.round((58 + ((t - start) / (end - start)) * 3) * 10) / 10,
      net_bytes_sent: 0,
      net_bytes_recv: 0,
      net_send_rate_kb: Math.round((120 + 90 * Math.sin(phase * 1.3) + random() * 60) * 10) / 10,
      net_recv_rate_kb: Math.round((340 + 200 * Math.sin(phase * 0.7) + random() * 120) * 10) / 10,
      net_packet_loss_rate: 0,
      recorded_at: new Date(t).toISOString(),
    });
  }
  return interval === 'raw' ? points.slice(-1000) : points.slice(-500);
}


/** A root-cause analysis as the server's correlator writes it (no model configured). */
function rootCause(alertId) {
  const now = Date.now();
  const at = (minutesAgo) => new Date(now - minutesAgo * 60_000).toISOString();
  return {
    alert_id: alertId,
    analysis: {
      root_cause: 'db-primary ran out of disk space before the API started failing',
      confidence: 'medium',
      evidence: ['The disk of db-primary filled up first [E1, E2]'],
      recommendations: ['Free space on /var/lib/postgresql', 'Run the disk_cleanup runbook, then restart postgres'],
      method: 'correlator',
      label: 'Deterministic evidence correlation (no LLM)',
      insufficient_evidence: false,
      first_failing_component: 'host:db-primary',
      claims: [
        { statement: 'The disk of db-primary filled up first', evidence: ['E1', 'E2'] },
        { statement: 'The API errors started two minutes later', evidence: ['E3'] },
      ],
      hypotheses: [
        { cause: 'disk full on db-primary', confidence: 'medium', evidence: ['E1', 'E2'], rejected_because: null },
        { cause: 'CPU saturation on web-prod-01', confidence: 'low', evidence: ['E4'], rejected_because: 'CPU rose after the database errors' },
      ],
      recommended_runbook: 'disk_cleanup',
      warnings: [],
    },
    memory_context: [],
    evidence_items: [
      {
        id: 'E1',
        component: 'host:db-primary',
        reference: { type: 'metric_series', host_id: 4, metric: 'disk_percent', from: at(60), to: at(0) },
        summary: 'disk_percent rose from 71 to 100 (baseline 71)',
        onset: at(14),
        anomalous: true,
        strength: 0.92,
      },
      {
        id: 'E2',
        component: 'host:db-primary',
        reference: { type: 'logs', log_ids: [1201, 1202, 1203], count: 48, from: at(13), to: at(1) },
        summary: 'ERROR could not write to file: No space left on device (×48)',
        onset: at(13),
        anomalous: true,
        strength: 0.85,
      },
      {
        id: 'E3',
        component: 'host:api-gateway',
        reference: { type: 'service_checks', service_id: 2, check_ids: [881, 882] },
        summary: 'api health check failing (HTTP 500)',
        onset: at(11),
        anomalous: true,
        strength: 0.7,
      },
      {
        id: 'E4',
        component: 'host:web-prod-01',
        reference: { type: 'metric_series', host_id: 1, metric: 'cpu_percent', from: at(60), to: at(0) },
        summary: 'cpu_percent rose from 30 to 62',
        onset: at(9),
        anomalous: true,
        strength: 0.4,
      },
    ],
    similar_incidents: [
      {
        id: 3,
        source: 'vigilops',
        title: 'db-primary disk full',
        content: 'postgres stopped accepting writes; WAL files had filled /var/lib/postgresql',
        alert_id: 12,
        host_id: 4,
        runbook: 'disk_cleanup',
        outcome: 'resolved by disk_cleanup',
        verdict: 'correct',
        created_at: new Date(now - 30 * 24 * HOURS_MS).toISOString(),
        score: 0.82,
      },
    ],
    insight_id: 0,
    error: null,
  };
}

/** A command result as the server's run log keeps it. */
function command(phase, step, cmd, exitCode, stdout, { stderr = '', durationMs = 120, optional = false, executed = true } = {}) {
  return { phase, step, command: cmd, exit_code: exitCode, stdout, stderr, executed, duration_ms: executed ? durationMs : null, optional, request_id: executed ? `req-${Math.random().toString(36).slice(2, 10)}` : undefined };
}

function decision(risk, reasons, stopped = null) {
  return {
    risk,
    stopped,
    reasons,
    matched_by: 'diagnosis',
    checks: { recent_failures: 0, runs_last_hour: 1, auto_runs_last_hour: 0, last_run_of_runbook: null, opted_out: false, in_maintenance: false },
  };
}

const DISK_DIAGNOSIS = {
  root_cause: 'The systemd journal and old WAL files filled /var on db-primary',
  confidence: 0.86,
  suggested_runbook: 'disk_cleanup',
  reasoning: 'disk_percent rose from 71 to 97 in 14 minutes while /var/log/journal grew by 9 GiB; postgres logged "No space left on device".',
  source: 'rules',
};

const DISK_PRE_CHECKS = [
  command('pre_check', 'disk usage', 'df -h /var', 0, 'Filesystem  Size  Used Avail Use% Mounted on\n/dev/sda2   200G  194G  6.0G  97% /var\n', { durationMs: 35 }),
  command('pre_check', 'journal size', 'journalctl --disk-usage', 0, 'Archived and active journals take up 9.1G in the file system.\n', { durationMs: 80 }),
];

/** The runs the mock starts with, newest first once listed. */
function seedRemediations() {
  const now = Date.now();
  const at = (minutesAgo) => new Date(now - minutesAgo * 60_000).toISOString();
  const base = {
    alert_id: 7,
    host_id: 4,
    risk_level: 'confirm',
    runbook_name: 'disk_cleanup',
    diagnosis_json: DISK_DIAGNOSIS,
    verification_passed: null,
    blocked_reason: null,
    triggered_by: 'auto',
    approved_by: null,
    approved_at: null,
    started_at: null,
    completed_at: null,
    requested_by: null,
    executed: true,
    review_comment: null,
  };
  return [
    {
      ...base,
      id: 1,
      alert_id: 3,
      host_id: 1,
      status: 'success',
      risk_level: 'auto',
      runbook_name: 'log_rotation',
      diagnosis_json: { ...DISK_DIAGNOSIS, root_cause: 'nginx access logs were not rotated', confidence: 0.74, suggested_runbook: 'log_rotation' },
      decision: decision('auto', ['runbook log_rotation is low risk', 'automatic remediation is on']),
      command_results_json: [
        command('pre_check', 'log size', 'du -sh /var/log/nginx', 0, '3.4G\t/var/log/nginx\n'),
        command('step', 'rotate', 'logrotate -f /etc/logrotate.d/nginx', 0, '', { durationMs: 900 }),
        command('verify', 'log size after', 'du -sh /var/log/nginx', 0, '120M\t/var/log/nginx\n'),
      ],
      verification_passed: true,
      created_at: at(190),
      started_at: at(190),
      completed_at: at(189),
    },
    {
      ...base,
      id: 2,
      alert_id: 5,
      host_id: 3,
      status: 'failed',
      runbook_name: 'service_restart',
      triggered_by: 'manual',
      requested_by: 1,
      approved_by: 1,
      approved_at: at(75),
      diagnosis_json: { ...DISK_DIAGNOSIS, root_cause: 'api-gateway stopped answering its health check', confidence: 0.61, suggested_runbook: 'service_restart', source: 'llm' },
      decision: decision('confirm', ['runbook service_restart needs confirmation']),
      command_results_json: [
        command('pre_check', 'service state', 'systemctl is-active api-gateway', 3, 'failed\n'),
        command('step', 'restart', 'systemctl restart api-gateway', 1, '', { stderr: 'Job for api-gateway.service failed because the control process exited with error code.\n', durationMs: 2400 }),
        command('rollback', 'journal', 'journalctl -u api-gateway -n 20', 0, 'api-gateway: bind: address already in use\n', { optional: true }),
      ],
      verification_passed: false,
      blocked_reason: 'step "restart" exited with 1',
      created_at: at(80),
      started_at: at(75),
      completed_at: at(74),
    },
    {
      ...base,
      id: 3,
      status: 'pending_approval',
      decision: decision('confirm', ['runbook disk_cleanup needs confirmation', 'diagnosis confidence 0.86 is above 0.7', 'no failed run of disk_cleanup on db-primary in the last 24 h']),
      command_results_json: DISK_PRE_CHECKS,
      created_at: at(6),
    },
  ];
}

const RUNBOOKS = {
  items: [
    {
      name: 'disk_cleanup',
      description: 'Frees disk space: vacuums the journal, cleans the package cache and removes old temporary files.',
      risk: 'confirm',
      source: 'builtin',
      spec: {
        name: 'disk_cleanup',
        steps: [
          { name: 'vacuum journal', run: ['journalctl', '--vacuum-size=500M'], timeout_seconds: 60 },
          { name: 'clean package cache', run: ['apt-get', 'clean'], timeout_seconds: 60, optional: true },
        ],
      },
    },
    {
      name: 'log_rotation',
      description: 'Forces a log rotation of the services named by the alert.',
      risk: 'auto',
      source: 'builtin',
      spec: { name: 'log_rotation', steps: [{ name: 'rotate', run: ['logrotate', '-f', '/etc/logrotate.conf'], timeout_seconds: 120 }] },
    },
    {
      name: 'service_restart',
      description: 'Restarts a failed systemd service and checks that it stays up.',
      risk: 'confirm',
      source: 'builtin',
      spec: { name: 'service_restart', steps: [{ name: 'restart', run: ['systemctl', 'restart', '{service}'], timeout_seconds: 60 }] },
    },
  ],
  refused_files: [{ file: '/etc/vigilops/runbooks/wipe-tmp.yaml', reasons: ['step "wipe": `rm -rf /` matches the blocked pattern "rm -rf /"'] }],
};

function sse(event, data) {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

export function createMockApi() {
  const users = [];
  const sessions = new Map(); // access token → user
  const tokens = [];
  let nextTokenId = 1;
  const insights = [];
  const remediations = seedRemediations();
  const remediationSettings = { automatic_enabled: true, agent_enabled: true, dry_run: false, max_auto_per_hour: 10, approval_minutes: 30 };
  let nextRemediationId = remediations.length + 1;
  const readsUntilDone = new Map(); // run id → reads left before an approved run finishes

  function storeInsight(fields) {
    const insight = {
      id: insights.length + 1,
      severity: 'info',
      summary: null,
      details: null,
      related_host_id: null,
      related_alert_id: null,
      status: 'new',
      created_at: new Date().toISOString(),
      method: 'correlator',
      model: null,
      feedback: null,
      ...fields,
    };
    insights.push(insight);
    return insight;
  }

  const userFor = (request) => sessions.get((request.headers().authorization ?? '').replace(/^Bearer /, ''));

  function issue(user) {
    const access = `mock-access-${user.id}-${Math.random().toString(36).slice(2)}`;
    sessions.set(access, user);
    return { access_token: access, refresh_token: `mock-refresh-${user.id}`, token_type: 'bearer' };
  }

  async function handle(route) {
    const request = route.request();
    const url = new URL(request.url());
    const path = url.pathname.replace(/^\/api\/v1/, '');
    const method = request.method();
    const body = request.postData() ? JSON.parse(request.postData()) : undefined;

    if (method === 'GET' && path === '/health') {
      return json(route, 200, {
        status: 'ok',
        checks: { api: 'ok', database: 'ok', redis: 'disabled' },
        timestamp: new Date().toISOString(),
      });
    }
    if (method === 'POST' && path === '/auth/register') {
      if (users.length > 0) return json(route, 403, { detail: 'Registration is disabled' });
      const user = {
        id: users.length + 1,
        email: body.email,
        name: body.name,
        role: 'admin',
        is_active: true,
        created_at: new Date().toISOString(),
        password: body.password,
      };
      users.push(user);
      return json(route, 201, issue(user));
    }
    if (method === 'POST' && path === '/auth/login') {
      const user = users.find((u) => u.email === body.email && u.password === body.password);
      return user ? json(route, 200, issue(user)) : json(route, 401, { detail: 'Invalid credentials' });
    }

    const user = userFor(request);
    if (!request.headers().authorization) return json(route, 403, { detail: 'Not authenticated' });
    if (!user) return json(route, 401, { detail: 'Invalid token' });

    if (method === 'GET' && path === '/auth/me') {
      const { password: _password, ...me } = user;
      return json(route, 200, me);
    }
    if (method === 'GET' && path === '/hosts') {
      const status = url.searchParams.get('status');
      const search = (url.searchParams.get('search') ?? '').toLowerCase();
      const page = Number(url.searchParams.get('page') ?? 1);
      const pageSize = Number(url.searchParams.get('page_size') ?? 20);
      const matching = HOSTS.filter((h) => (!status || h.status === status) && h.hostname.toLowerCase().includes(search));
      return json(route, 200, {
        items: matching.slice((page - 1) * pageSize, page * pageSize),
        total: matching.length,
        page,
        page_size: pageSize,
      });
    }
    const hostMatch = path.match(/^\/hosts\/(\d+)(\/metrics)?$/);
    if (method === 'GET' && hostMatch) {
      const host = HOSTS.find((h) => h.id === Number(hostMatch[1]));
      if (!host) return json(route, 404, { detail: 'Host not found' });
      if (!hostMatch[2]) return json(route, 200, host);
      const hours = Number(url.searchParams.get('hours') ?? 1);
      return json(route, 200, metrics(host.id, hours, url.searchParams.get('interval') ?? 'raw'));
    }
    if (method === 'GET' && path === '/ai/system-summary') {
      const online = HOSTS.filter((h) => h.status === 'online');
      const average = (key) => Math.round((online.reduce((sum, h) => sum + h.latest_metrics[key], 0) / online.length) * 10) / 10;
      return json(route, 200, {
        hosts: { total: HOSTS.length, online: online.length, offline: HOSTS.length - online.length },
        services: { total: 6, up: 5, down: 1 },
        recent_1h: { alert_count: 3, error_log_count: 57 },
        avg_usage: { cpu_percent: average('cpu_percent'), memory_percent: average('memory_percent') },
      });
    }
    if (method === 'POST' && path === '/ai/root-cause') {
      const alertId = Number(url.searchParams.get('alert_id'));
      if (!Number.isInteger(alertId) || alertId < 1) return json(route, 422, { detail: 'alert_id: must be a positive integer' });
      const result = rootCause(alertId);
      const insight = storeInsight({
        insight_type: 'root_cause',
        severity: 'critical',
        title: `Root cause: alert #${alertId}`,
        summary: result.analysis.root_cause,
        details: { analysis: result.analysis, evidence_items: result.evidence_items, similar_incidents: result.similar_incidents, error: null },
        related_host_id: 4,
        related_alert_id: alertId,
      });
      return json(route, 200, { ...result, insight_id: insight.id });
    }
    const feedbackMatch = path.match(/^\/ai\/insights\/(\d+)\/feedback$/);
    if (method === 'POST' && feedbackMatch) {
      const insight = insights.find((i) => i.id === Number(feedbackMatch[1]));
      if (!insight) return json(route, 404, { detail: 'Insight not found' });
      if (body?.verdict !== 'correct' && body?.verdict !== 'incorrect') return json(route, 422, { detail: 'verdict must be correct or incorrect' });
      insight.feedback = { verdict: body.verdict, comment: body.comment ?? null, by: user.id, at: new Date().toISOString() };
      return json(route, 200, insight);
    }
    if (method === 'GET' && path === '/ai/insights') {
      const page = Number(url.searchParams.get('page') ?? 1);
      const pageSize = Number(url.searchParams.get('page_size') ?? 20);
      const want = (key, value) => !url.searchParams.get(key) || url.searchParams.get(key) === String(value);
      const matching = [...insights]
        .reverse()
        .filter((i) => want('severity', i.severity) && want('status', i.status) && want('insight_type', i.insight_type) && want('alert_id', i.related_alert_id));
      return json(route, 200, { items: matching.slice((page - 1) * pageSize, page * pageSize), total: matching.length, page, page_size: pageSize });
    }
    const insightMatch = path.match(/^\/ai\/insights\/(\d+)$/);
    if (method === 'GET' && insightMatch) {
      const insight = insights.find((i) => i.id === Number(insightMatch[1]));
      return insight ? json(route, 200, insight) : json(route, 404, { detail: 'Insight not found' });
    }
    if (method === 'POST' && path === '/ai/chat/stream') {
      // The mock plays a configured model: context, the answer in pieces, done.
      const answer = `Looking at "${body.question}":\ndb-primary's disk is full, which explains the API errors.\nRun disk_cleanup on db-primary.`;
      const pieces = answer.match(/.{1,12}/gs) ?? [];
      const insight = storeInsight({ insight_type: 'chat', title: body.question, summary: answer, method: 'llm', model: 'mock-model' });
      return route.fulfill({
        status: 200,
        headers: { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache' },
        body:
          sse('context', { sources: [{ type: 'hosts', summary: `${HOSTS.length} hosts, 2 offline` }], memory_context: ['db-primary disk full, fixed by disk_cleanup'] }) +
          ': keep-alive\n\n' +
          pieces.map((text) => sse('delta', { text })).join('') +
          sse('done', { insight_id: insight.id }),
      });
    }
    if (method === 'POST' && path === '/ai/chat') {
      return json(route, 200, { answer: '', sources: [], memory_context: [], insight_id: null, error: 'AI is not configured: set AI_API_KEY' });
    }
    if (method === 'POST' && path === '/ai/analyze-logs') {
      const now = Date.now();
      return json(route, 200, {
        success: false,
        analysis: {
          severity: 'warning',
          title: '2 log patterns, 1 of them errors',
          summary: 'Most errors come from postgres on db-primary.',
          anomalies: [{ pattern: 'No space left on device', count: 48, risk: 'high', suggestion: 'Free disk space on db-primary' }],
          overall_assessment: 'Disk pressure on db-primary',
          method: 'correlator',
        },
        error: 'AI is not configured: set AI_API_KEY (and AI_API_BASE, AI_MODEL for a provider other than DeepSeek)',
        log_count: 61,
        patterns: [
          {
            level: 'ERROR',
            template: 'could not write to file <*>: No space left on device',
            count: 48,
            first_seen: new Date(now - 13 * 60_000).toISOString(),
            last_seen: new Date(now - 60_000).toISOString(),
            host_ids: [4],
            services: ['postgres'],
            example_log_ids: [1201, 1202, 1203],
            example: 'could not write to file "pg_wal/xlogtemp.117": No space left on device',
          },
          {
            level: 'WARN',
            template: 'slow query took <*>ms',
            count: 13,
            first_seen: new Date(now - 50 * 60_000).toISOString(),
            last_seen: new Date(now - 2 * 60_000).toISOString(),
            host_ids: [4],
            services: ['postgres'],
            example_log_ids: [1100],
            example: 'slow query took 2300ms',
          },
        ],
        insight_id: null,
      });
    }
    if (method === 'GET' && path === '/ai/memory') {
      const q = url.searchParams.get('q') ?? '';
      const items = rootCause(1).similar_incidents;
      return json(route, 200, { query: q, items, digest: 'seen 1 time before; disk_cleanup fixed it once' });
    }
    if (method === 'GET' && path === '/remediations') {
      const page = Number(url.searchParams.get('page') ?? 1);
      const pageSize = Number(url.searchParams.get('page_size') ?? 20);
      const want = (key, value) => !url.searchParams.get(key) || url.searchParams.get(key) === String(value);
      const matching = [...remediations]
        .sort((a, b) => b.id - a.id)
        .filter((r) => want('status', r.status) && want('triggered_by', r.triggered_by) && want('host_id', r.host_id) && want('alert_id', r.alert_id));
      return json(route, 200, { items: matching.slice((page - 1) * pageSize, page * pageSize), total: matching.length, page, page_size: pageSize });
    }
    if (method === 'GET' && path === '/remediations/stats') {
      const finished = remediations.filter((r) => r.started_at && r.completed_at);
      const success = remediations.filter((r) => r.status === 'success').length;
      const failed = remediations.filter((r) => r.status === 'failed').length;
      const durations = finished.map((r) => (Date.parse(r.completed_at) - Date.parse(r.started_at)) / 1000);
      return json(route, 200, {
        total: remediations.length,
        success,
        failed,
        pending: remediations.filter((r) => !['success', 'failed', 'rejected', 'escalated'].includes(r.status)).length,
        success_rate: remediations.length ? Math.round((success / remediations.length) * 1000) / 10 : 0,
        avg_duration_seconds: durations.length ? Math.round((durations.reduce((a, b) => a + b, 0) / durations.length) * 10) / 10 : null,
        today_count: remediations.filter((r) => Date.now() - Date.parse(r.created_at) < 24 * HOURS_MS).length,
        week_count: remediations.length,
      });
    }
    const remediationMatch = path.match(/^\/remediations\/(\d+)(?:\/(approve|reject|retry))?$/);
    if (remediationMatch) {
      const run = remediations.find((r) => r.id === Number(remediationMatch[1]));
      if (!run) return json(route, 404, { detail: 'Remediation log not found' });
      const action = remediationMatch[2];
      if (method === 'GET' && !action) {
        // An approved run executes in the background: the first read after the approval still
        // sees it executing, the next one finds it finished (this exercises the page's polling).
        const left = readsUntilDone.get(run.id);
        if (run.status === 'executing' && left !== undefined) readsUntilDone.set(run.id, left - 1);
        if (run.status === 'executing' && left !== undefined && left <= 0) {
          const finished = new Date().toISOString();
          run.status = 'success';
          run.verification_passed = true;
          run.completed_at = finished;
          run.command_results_json = [
            ...run.command_results_json,
            command('step', 'vacuum journal', 'journalctl --vacuum-size=500M', 0, 'Vacuuming done, freed 8.6G of archived journals from /var/log/journal.\n', { durationMs: 3400 }),
            command('step', 'clean package cache', 'apt-get clean', 100, '', { stderr: 'E: Could not get lock /var/cache/apt/archives/lock\n', optional: true, durationMs: 60 }),
            command('verify', 'disk usage after', 'df -h /var', 0, 'Filesystem  Size  Used Avail Use% Mounted on\n/dev/sda2   200G  131G   69G  66% /var\n', { durationMs: 30 }),
          ];
          readsUntilDone.delete(run.id);
        }
        return json(route, 200, run);
      }
      if (method !== 'POST' || !action) return json(route, 405, { detail: 'Method Not Allowed' });
      if (user.role === 'viewer') return json(route, 403, { detail: 'Operator role required' });
      if (action === 'approve' || action === 'reject') {
        if (run.status !== 'pending_approval') return json(route, 400, { detail: `Cannot ${action} remediation in status: ${run.status}` });
        const now = new Date().toISOString();
        run.approved_by = user.id;
        run.approved_at = now;
        run.review_comment = body?.comment?.trim() || null;
        if (action === 'reject') {
          run.status = 'rejected';
          run.completed_at = now;
        } else {
          run.status = 'executing';
          run.started_at = now;
          readsUntilDone.set(run.id, 1);
        }
        return json(route, 200, run);
      }
      if (!['failed', 'escalated', 'rejected'].includes(run.status)) return json(route, 400, { detail: `Cannot retry remediation in status: ${run.status}` });
      if (remediations.some((r) => r.alert_id === run.alert_id && !['success', 'failed', 'rejected', 'escalated'].includes(r.status))) {
        return json(route, 409, { detail: 'A remediation is already in progress for this alert' });
      }
      const retried = {
        ...run,
        id: nextRemediationId++,
        status: 'pending_approval',
        triggered_by: 'manual',
        requested_by: user.id,
        approved_by: null,
        approved_at: null,
        started_at: null,
        completed_at: null,
        verification_passed: null,
        blocked_reason: null,
        review_comment: null,
        command_results_json: [],
        created_at: new Date().toISOString(),
      };
      remediations.push(retried);
      return json(route, 200, retried);
    }
    const remediateMatch = path.match(/^\/alerts\/(\d+)\/remediate$/);
    if (method === 'POST' && remediateMatch) {
      const alertId = Number(remediateMatch[1]);
      if (alertId > 100) return json(route, 404, { detail: 'Alert not found' });
      if (remediations.some((r) => r.alert_id === alertId && !['success', 'failed', 'rejected', 'escalated'].includes(r.status))) {
        return json(route, 409, { detail: 'A remediation is already in progress for this alert' });
      }
      const run = {
        ...seedRemediations()[2],
        id: nextRemediationId++,
        alert_id: alertId,
        status: 'pending',
        triggered_by: 'manual',
        requested_by: user.id,
        risk_level: null,
        runbook_name: null,
        diagnosis_json: null,
        decision: null,
        command_results_json: null,
        created_at: new Date().toISOString(),
      };
      remediations.push(run);
      return json(route, 200, run);
    }
    if (method === 'GET' && path === '/runbooks') return json(route, 200, RUNBOOKS);
    if (path === '/remediation-settings') {
      if (method === 'GET') return json(route, 200, remediationSettings);
      if (method === 'PUT') {
        if (user.role !== 'admin') return json(route, 403, { detail: 'Admin role required' });
        if (typeof body?.automatic_enabled !== 'boolean') return json(route, 422, { detail: 'automatic_enabled: must be a boolean' });
        remediationSettings.automatic_enabled = body.automatic_enabled;
        return json(route, 200, remediationSettings);
      }
    }
    if (path.startsWith('/agent-tokens') && user.role !== 'admin') return json(route, 403, { detail: 'Admin only' });
    if (method === 'GET' && path === '/agent-tokens') return json(route, 200, [...tokens].reverse());
    if (method === 'POST' && path === '/agent-tokens') {
      const plaintext = `vop_${Array.from({ length: 40 }, () => Math.floor(Math.random() * 16).toString(16)).join('')}`;
      const token = {
        id: nextTokenId++,
        name: body.name,
        token_prefix: plaintext.slice(0, 8),
        is_active: true,
        created_by: user.id,
        created_at: new Date().toISOString(),
        last_used_at: null,
      };
      tokens.push(token);
      return json(route, 201, { ...token, token: plaintext });
    }
    const tokenMatch = path.match(/^\/agent-tokens\/(\d+)$/);
    if (method === 'DELETE' && tokenMatch) {
      const token = tokens.find((t) => t.id === Number(tokenMatch[1]));
      if (!token) return json(route, 404, { detail: 'Token not found' });
      token.is_active = false;
      return route.fulfill({ status: 204, body: '' });
    }
    return json(route, 404, { detail: 'Not Found' });
  }

  return {
    /** Routes every `/api/` request of the context to the in-memory API. */
    install: (context) => context.route((url) => new URL(url).pathname.startsWith('/api/'), handle),
  };
}
