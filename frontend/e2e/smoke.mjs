#!/usr/bin/env node
// End-to-end smoke test of the built SPA in Debian's Chromium, driven by playwright-core.
//
//   BASE_URL      the server to test (default http://127.0.0.1:8001, the Rust server serving the SPA)
//   E2E_EMAIL     login email (default e2e-admin@example.com); registered if login fails
//   E2E_PASSWORD  login password (default e2e-Passw0rd!)
//   E2E_MOCK_API  "1": answer /api/* in the browser from e2e/mock-api.mjs; without BASE_URL it then
//                 serves ./dist itself with `vite preview` (run `npm run build` first)
//   CHROMIUM      browser binary (default /usr/bin/chromium); nothing is ever downloaded
//
// It signs in (registering the user when login fails), checks the dashboard, the hosts page and a
// host's charts (a real-browser check of the ECharts bundle), creates an agent token in the UI and
// checks that the plaintext is shown once, then revokes it. It opens the AI page: the system summary,
// a streamed chat answer (or, on a server without a model, the non-streamed fallback), the log
// analysis and the insights list; with the mock API also a root-cause analysis linked from
// `/ai?alert=N`, its claim-to-evidence links, feedback and the insight drawer. It opens the
// remediation page (safety switches, numbers, run list, runbooks); with the mock API it also opens
// a run waiting for approval, approves it with a comment and waits, through the page's 2 s polling,
// for its log to show the commands' exit codes. Screenshots go to e2e/out/. Any console error after sign-in, page error or failed step exits non-zero.

import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { createMockApi } from './mock-api.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const outDir = join(here, 'out');
const mockApi = process.env.E2E_MOCK_API === '1';
const email = process.env.E2E_EMAIL ?? 'e2e-admin@example.com';
const password = process.env.E2E_PASSWORD ?? 'e2e-Passw0rd!';
const executablePath = process.env.CHROMIUM ?? '/usr/bin/chromium';
const STEP_TIMEOUT = 15_000;

const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

function log(message) {
  console.log(`[e2e] ${message}`);
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Serves ./dist with `vite preview` and resolves once it answers. */
async function startPreview() {
  const port = await freePort();
  const vite = join(here, '..', 'node_modules', 'vite', 'bin', 'vite.js');
  const child = spawn(process.execPath, [vite, 'preview', '--host', '127.0.0.1', '--port', String(port), '--strictPort'], {
    cwd: join(here, '..'),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  child.stderr.on('data', (chunk) => (output += chunk));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`vite preview exited: ${output}`);
    try {
      const response = await fetch(url);
      if (response.ok) return { url, stop: () => child.kill('SIGTERM') };
    } catch {
      // not up yet
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  child.kill('SIGTERM');
  throw new Error(`vite preview did not start on ${url}: ${output}`);
}

/** Console errors, page errors and failed requests, each tagged with the step it happened in. */
function watchProblems(page) {
  const problems = [];
  let phase = 'start';
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push({ phase, text: `console: ${message.text()}` });
  });
  page.on('pageerror', (error) => problems.push({ phase, text: `page error: ${error.message}` }));
  page.on('requestfailed', (request) => {
    const failure = request.failure()?.errorText ?? '';
    // Polls cancelled by a navigation are not failures.
    if (failure.includes('ERR_ABORTED')) return;
    problems.push({ phase, text: `request failed: ${request.method()} ${request.url()} ${failure}` });
  });
  return {
    setPhase: (next) => (phase = next),
    /**
     * Problems outside sign-in; there, a 401/403 from trying to log in before registering is expected.
     * So is the 503 of the streamed chat on a server without a model: the page then asks the
     * non-streamed route.
     */
    unexpected: () =>
      problems.filter(
        (problem) =>
          !(problem.phase === 'auth' && /status of 40[13]/.test(problem.text)) &&
          !(problem.phase === 'ai-chat' && /status of 503/.test(problem.text)),
      ),
  };
}

async function shot(page, name) {
  const path = join(outDir, `${name}.png`);
  // Finite CSS animations (dialogs, fades) are fast-forwarded so the picture shows the end state.
  await page.screenshot({ path, fullPage: true, animations: 'disabled' });
  log(`screenshot ${path}`);
}

async function signIn(page, baseUrl) {
  await page.goto(`${baseUrl}/login`);
  await page.locator('#login_email').waitFor({ timeout: STEP_TIMEOUT });
  await shot(page, 'login');

  await page.fill('#login_email', email);
  await page.fill('#login_password', password);
  await page.click('[data-testid="login-submit"]');
  const outcome = await Promise.race([
    page.waitForURL((url) => !url.pathname.startsWith('/login'), { timeout: STEP_TIMEOUT }).then(() => 'in'),
    page.locator('form#login [role="alert"]').waitFor({ timeout: STEP_TIMEOUT }).then(() => 'refused'),
  ]);
  if (outcome === 'in') {
    log(`logged in as ${email}`);
    return;
  }

  log(`login refused (${(await page.locator('form#login [role="alert"]').innerText()).replace(/\s+/g, ' ')}); registering`);
  await page.click('.ant-tabs-tab[data-node-key="register"]');
  await page.fill('#register_name', 'E2E Admin');
  await page.fill('#register_email', email);
  await page.fill('#register_password', password);
  await page.fill('#register_confirm', password);
  await page.click('[data-testid="register-submit"]');
  const registered = await Promise.race([
    page.waitForURL((url) => !url.pathname.startsWith('/login'), { timeout: STEP_TIMEOUT }).then(() => true),
    page.locator('form#register [role="alert"]').waitFor({ timeout: STEP_TIMEOUT }).then(() => false),
  ]);
  if (!registered) {
    const detail = await page.locator('form#register [role="alert"]').innerText();
    throw new Error(`could not register ${email}: ${detail.replace(/\s+/g, ' ')}`);
  }
  log(`registered and logged in as ${email}`);
}

function menuItem(page, path) {
  return page.locator(`li.ant-menu-item[data-menu-id$="-${path}"]`);
}

async function checkHosts(page) {
  await menuItem(page, '/hosts').click();
  await page.waitForURL((url) => url.pathname === '/hosts');
  const table = page.locator('.ant-table');
  await table.waitFor({ timeout: STEP_TIMEOUT });
  await page.locator('.ant-table-tbody .ant-table-row, .ant-table-tbody .ant-empty').first().waitFor({ timeout: STEP_TIMEOUT });
  const rows = await page.locator('.ant-table-tbody .ant-table-row').count();
  log(`hosts page shows ${rows} host row(s)`);
  await shot(page, 'hosts');
  return rows;
}

async function checkHostDetail(page) {
  await page.locator('.ant-table-tbody .ant-table-row a[href^="/hosts/"]').first().click();
  await page.waitForURL((url) => /^\/hosts\/\d+$/.test(url.pathname));
  // Five charts, each drawn by ECharts on a canvas: this fails if the ECharts bundle is broken.
  await page.locator('canvas').nth(4).waitFor({ timeout: STEP_TIMEOUT });
  const canvases = await page.locator('canvas').count();
  if (canvases < 5) throw new Error(`host detail shows ${canvases} chart canvases, expected 5`);
  await page.waitForTimeout(800); // let the charts finish their entry animation for the screenshot
  log(`host detail renders ${canvases} charts`);
  await shot(page, 'host-detail');

  await page.locator('.ant-segmented-item').nth(3).click(); // 7 days
  await page.getByTestId('metric-interval').filter({ hasText: /1 (小时|hour)/ }).waitFor({ timeout: STEP_TIMEOUT });
  log('7-day range asks for hourly buckets');
}

async function checkAgentToken(page, baseUrl) {
  const item = menuItem(page, '/agent-tokens');
  if ((await item.count()) === 0) throw new Error(`${email} is not an admin: the Agent tokens menu is missing`);
  await item.click();
  await page.waitForURL((url) => url.pathname === '/agent-tokens');
  await page.getByTestId('create-token').waitFor({ timeout: STEP_TIMEOUT });

  const name = `e2e-${Date.now()}`;
  await page.getByTestId('create-token').click();
  await page.getByTestId('token-name-input').fill(name);
  await page.getByTestId('create-token-submit').click();

  const dialog = page.getByTestId('token-created');
  await dialog.waitFor({ timeout: STEP_TIMEOUT });
  const plaintext = (await page.getByTestId('token-plaintext').innerText()).trim();
  if (plaintext.length < 16) throw new Error(`created token looks wrong: "${plaintext}"`);
  const command = (await page.getByTestId('token-install-command').innerText()).trim();
  const expected = `vigilops-agent config --server ${new URL(baseUrl).origin} --token ${plaintext}`;
  if (command !== expected) throw new Error(`install hint is "${command}", expected "${expected}"`);
  log(`token "${name}" created and shown once (${plaintext.slice(0, 8)}…)`);
  await shot(page, 'agent-token-created');

  await page.getByTestId('token-created-done').click();
  await dialog.waitFor({ state: 'detached', timeout: STEP_TIMEOUT });
  if ((await page.content()).includes(plaintext)) throw new Error('the plaintext token is still in the page after closing');

  await page.reload();
  const row = page.locator('.ant-table-row', { hasText: name });
  await row.waitFor({ timeout: STEP_TIMEOUT });
  if ((await page.content()).includes(plaintext)) throw new Error('the plaintext token is shown again after a reload');
  log('token listed by prefix only after reload');
  await shot(page, 'agent-tokens');

  // Leave no live credential behind on a real server.
  await row.getByRole('button', { name: /^(吊销|Revoke)$/ }).click();
  await page.locator('.ant-popconfirm-buttons button').last().click();
  await row.locator('.ant-tag').filter({ hasNotText: /^(有效|Active)$/ }).waitFor({ timeout: STEP_TIMEOUT });
  log(`token "${name}" revoked`);
}

async function openAiTab(page, key) {
  await page.locator(`.ant-tabs-tab[data-node-key="${key}"]`).click();
  await page.waitForURL((url) => url.pathname === '/ai' && (key === 'root-cause' || url.searchParams.get('tab') === key));
}

/** `/ai?alert=N` as other pages link to it: the analysis runs, its claims jump to their evidence. */
async function checkAiRootCause(page, baseUrl, alertId) {
  await page.goto(`${baseUrl}/ai?alert=${alertId}`);
  const cause = page.getByTestId('root-cause-text');
  await cause.waitFor({ timeout: STEP_TIMEOUT });
  const method = (await page.getByTestId('analysis-method').innerText()).trim();
  if (!/LLM/.test(method)) throw new Error(`the correlator result is labelled "${method}", without "no LLM"`);
  // The first claim's first evidence link highlights its evidence row.
  const link = page.getByTestId('claim').first().locator('[data-testid^="evidence-link-"]').first();
  const evidenceId = (await link.getAttribute('data-testid')).replace('evidence-link-', '');
  const row = page.locator(`tr[data-evidence-id="${evidenceId}"]`);
  if ((await row.getAttribute('aria-selected')) !== 'false') throw new Error(`evidence ${evidenceId} is highlighted before any click`);
  await link.click();
  await page.locator(`tr[data-evidence-id="${evidenceId}"][aria-selected="true"]`).waitFor({ timeout: STEP_TIMEOUT });
  log(`root cause of alert ${alertId}: "${(await cause.innerText()).trim()}" (${method}); claim → evidence ${evidenceId} link works`);
  await page.getByTestId('feedback').getByRole('button').first().click();
  await page.getByTestId('feedback-current').waitFor({ timeout: STEP_TIMEOUT });
  log('feedback recorded');
  await shot(page, 'ai-root-cause');
}

async function checkAi(page, baseUrl, problems) {
  await menuItem(page, '/ai').click();
  await page.waitForURL((url) => url.pathname === '/ai');
  await page.getByTestId('system-summary').waitFor({ timeout: STEP_TIMEOUT });
  log(`AI system summary: ${(await page.getByTestId('system-summary').innerText()).replace(/\s+/g, ' ')}`);

  const alertId = mockApi ? '7' : process.env.E2E_ALERT_ID;
  if (alertId) {
    problems.setPhase('ai-root-cause');
    await checkAiRootCause(page, baseUrl, alertId);
  } else {
    log('real server without a seeded alert: the root-cause panel was not checked');
  }

  problems.setPhase('ai-chat');
  await openAiTab(page, 'chat');
  await page.getByTestId('chat-question').fill('Why is the API failing?');
  await page.getByTestId('chat-question').press('Enter');
  const turn = page.getByTestId('chat-turn').last();
  const outcome = await Promise.race([
    turn.getByTestId('chat-answer').waitFor({ timeout: STEP_TIMEOUT }).then(() => 'answer'),
    turn.getByTestId('chat-error').waitFor({ timeout: STEP_TIMEOUT }).then(() => 'error'),
  ]);
  if (outcome === 'answer' && !mockApi && /not configured/i.test(await turn.innerText())) {
    // A server without a model: the streamed call answered 503 and the page fell back to the
    // plain chat, whose answer says so (and no insight is stored).
    log(`chat answered without a model: ${(await turn.getByTestId('chat-answer').innerText()).trim()}`);
  } else if (outcome === 'answer') {
    // Wait for the stream to finish: the answer is saved as an insight at `done`.
    await turn.locator('.ant-tag').filter({ hasText: /#\d+/ }).waitFor({ timeout: STEP_TIMEOUT });
    const answer = await turn.getByTestId('chat-answer').innerText();
    if (mockApi && !(answer.includes('disk_cleanup') && answer.includes('\n'))) throw new Error(`streamed answer looks wrong: ${JSON.stringify(answer)}`);
    log(`chat answer streamed (${answer.length} characters)`);
  } else {
    if (mockApi) throw new Error(`chat failed: ${await turn.getByTestId('chat-error').innerText()}`);
    log(`chat answered without a model: ${(await turn.getByTestId('chat-error').innerText()).trim()}`);
  }
  await shot(page, 'ai-chat');

  problems.setPhase('ai-logs');
  await openAiTab(page, 'logs');
  await page.getByTestId('analyse-logs').click();
  await page.getByTestId('log-analysis-result').waitFor({ timeout: STEP_TIMEOUT });
  const patterns = await page.getByTestId('log-analysis-result').locator('.ant-table-row').count();
  log(`log analysis shows ${patterns} row(s)`);
  await shot(page, 'ai-logs');

  problems.setPhase('ai-insights');
  await openAiTab(page, 'insights');
  const insightsPanel = page.getByTestId('insights-panel');
  await insightsPanel.locator('.ant-table-tbody .ant-table-row, .ant-table-tbody .ant-empty').first().waitFor({ timeout: STEP_TIMEOUT });
  const insightRows = await insightsPanel.locator('.ant-table-tbody .ant-table-row').count();
  log(`insights list shows ${insightRows} row(s)`);
  if (mockApi) {
    await insightsPanel.locator('[data-testid^="insight-open-"]', { hasText: 'Root cause' }).first().click();
    await page.locator('.ant-drawer').getByTestId('root-cause-text').waitFor({ timeout: STEP_TIMEOUT });
    await page.locator('.ant-drawer').getByTestId('feedback-current').waitFor({ timeout: STEP_TIMEOUT });
    log('root-cause insight opens with its analysis and the feedback on record');
    await shot(page, 'ai-insight');
    await page.keyboard.press('Escape');
    await page.locator('.ant-drawer-open').waitFor({ state: 'detached', timeout: STEP_TIMEOUT }).catch(() => undefined);
  }
}

/**
 * `/remediations`: the safety switches, the numbers, the run list and the runbooks load on any
 * server (a real one may have no runs yet). With the mock API, a run waiting for approval is
 * approved and followed until its log shows the commands' exit codes.
 */
async function checkRemediation(page, problems) {
  await menuItem(page, '/remediations').click();
  await page.waitForURL((url) => url.pathname === '/remediations');
  await page.getByTestId('safety-switches').waitFor({ timeout: STEP_TIMEOUT });
  const stats = page.getByTestId('remediation-stats');
  await stats.locator('.ant-statistic').first().waitFor({ timeout: STEP_TIMEOUT });
  const table = page.getByTestId('remediation-table');
  await table.locator('.ant-table-tbody .ant-table-row, .ant-table-tbody .ant-empty').first().waitFor({ timeout: STEP_TIMEOUT });
  const rows = await table.locator('.ant-table-tbody .ant-table-row').count();
  log(`remediation page: ${rows} run row(s); switches: ${(await page.getByTestId('safety-switches').innerText()).replace(/\s+/g, ' ')}`);
  await page.waitForTimeout(400);
  await shot(page, 'remediations');

  problems.setPhase('runbooks');
  await page.locator('.ant-tabs-tab[data-node-key="runbooks"]').click();
  await page.waitForURL((url) => url.pathname === '/remediations' && url.searchParams.get('tab') === 'runbooks');
  const runbooks = page.getByTestId('runbooks-panel');
  await runbooks.locator('.ant-table-tbody .ant-table-row, .ant-table-tbody .ant-empty').first().waitFor({ timeout: STEP_TIMEOUT });
  const runbookRows = await runbooks.locator('.ant-table-tbody .ant-table-row').count();
  if (mockApi && (runbookRows < 1 || (await runbooks.getByTestId('refused-files').count()) !== 1)) {
    throw new Error(`runbooks tab shows ${runbookRows} runbook(s) and no refused file`);
  }
  log(`runbooks tab lists ${runbookRows} runbook(s)`);
  await shot(page, 'runbooks');
  await page.locator('.ant-tabs-tab[data-node-key="runs"]').click();
  await table.locator('.ant-table-tbody .ant-table-row, .ant-table-tbody .ant-empty').first().waitFor({ timeout: STEP_TIMEOUT });

  if (!mockApi) {
    if (rows > 0) {
      problems.setPhase('remediation-detail');
      await table.locator('[data-testid^="remediation-link-"]').first().click();
      await page.waitForURL((url) => /^\/remediations\/\d+$/.test(url.pathname));
      await page.getByTestId('remediation-detail').waitFor({ timeout: STEP_TIMEOUT });
      log(`run ${new URL(page.url()).pathname} opens with its log`);
      await shot(page, 'remediation-detail');
    } else {
      log('real server without remediation runs: the run log was not checked');
    }
    return;
  }

  problems.setPhase('remediation-approve');
  const waiting = table.locator('.ant-table-row', { has: page.locator('[data-testid="remediation-status"][data-status="pending_approval"]') }).first();
  await waiting.waitFor({ timeout: STEP_TIMEOUT });
  await waiting.locator('[data-testid^="remediation-link-"]').click();
  await page.waitForURL((url) => /^\/remediations\/\d+$/.test(url.pathname));
  const detail = page.getByTestId('remediation-detail');
  await page.locator('[data-testid="remediation-detail"][data-status="pending_approval"]').waitFor({ timeout: STEP_TIMEOUT });
  const reasons = await detail.getByTestId('decision-reasons').locator('li').count();
  if (reasons < 1) throw new Error('the safety decision shows no reasons');
  log(`run ${new URL(page.url()).pathname} waits for approval (${reasons} decision reason(s))`);
  await shot(page, 'remediation-pending');

  await page.getByTestId('approve-button').click();
  await page.getByTestId('review-comment').fill('disk at 97 %, journal is safe to vacuum');
  await page.getByTestId('review-submit').click();
  await page.locator('.ant-modal-wrap').waitFor({ state: 'hidden', timeout: STEP_TIMEOUT }).catch(() => undefined);
  // The approved run executes server-side; the page polls every 2 s until it is terminal.
  await page.locator('[data-testid="remediation-detail"][data-status="success"]').waitFor({ timeout: STEP_TIMEOUT });
  const codes = await detail.getByTestId('command-exit-code').evaluateAll((tags) => tags.map((tag) => tag.getAttribute('data-exit-code')));
  if (!codes.includes('0')) throw new Error(`the run log shows no exit code 0: ${JSON.stringify(codes)}`);
  if (!codes.some((code) => code && code !== '0')) throw new Error(`the run log shows no non-zero exit code: ${JSON.stringify(codes)}`);
  const comment = (await detail.getByTestId('review-comment-text').innerText()).trim();
  if (!comment.includes('journal is safe')) throw new Error(`the review comment is "${comment}"`);
  log(`approved; the run finished with exit codes ${codes.join(', ')} in its log`);
  await page.waitForTimeout(300);
  await shot(page, 'remediation-detail');
}

async function checkEnglish(page) {
  await page.locator('button[aria-label="切换语言"]').click();
  await page.locator('.ant-dropdown-menu-item', { hasText: 'English' }).click();
  await menuItem(page, '/hosts').click();
  await page.getByRole('heading', { name: 'Hosts' }).waitFor({ timeout: STEP_TIMEOUT });
  await page.locator('.ant-table-tbody .ant-table-row, .ant-table-tbody .ant-empty').first().waitFor({ timeout: STEP_TIMEOUT });
  log('language switched to English');
  await shot(page, 'hosts-en');
  await menuItem(page, '/').click();
  await page.getByRole('heading', { name: 'Dashboard' }).waitFor({ timeout: STEP_TIMEOUT });
  await page.waitForTimeout(600);
  await shot(page, 'dashboard-en');
}

async function main() {
  mkdirSync(outDir, { recursive: true });
  const cleanups = [];
  let failed = false;
  let page;
  try {
    let baseUrl = process.env.BASE_URL;
    if (!baseUrl && mockApi) {
      const preview = await startPreview();
      cleanups.push(preview.stop);
      baseUrl = preview.url;
    }
    baseUrl = (baseUrl ?? 'http://127.0.0.1:8001').replace(/\/$/, '');
    log(`testing ${baseUrl}${mockApi ? ' with the in-browser mock API' : ''}`);

    const userDataDir = mkdtempSync(join(tmpdir(), 'vigilops-e2e-'));
    cleanups.push(() => rmSync(userDataDir, { recursive: true, force: true }));
    const context = await chromium.launchPersistentContext(userDataDir, {
      executablePath,
      headless: true,
      args: CHROMIUM_ARGS,
      viewport: { width: 1440, height: 900 },
      locale: 'zh-CN',
    });
    cleanups.unshift(() => context.close());
    if (mockApi) await createMockApi().install(context);

    page = context.pages()[0] ?? (await context.newPage());
    page.setDefaultTimeout(STEP_TIMEOUT);
    const problems = watchProblems(page);

    problems.setPhase('auth');
    await signIn(page, baseUrl);

    problems.setPhase('dashboard');
    await page.locator('.ant-statistic, .ant-empty').first().waitFor({ timeout: STEP_TIMEOUT });
    await page.waitForTimeout(600);
    await shot(page, 'dashboard');

    problems.setPhase('hosts');
    const hostRows = await checkHosts(page);
    if (hostRows > 0) {
      problems.setPhase('host-detail');
      await checkHostDetail(page);
    } else if (process.env.E2E_REQUIRE_HOST === '1') {
      throw new Error('no hosts on this server, but E2E_REQUIRE_HOST=1 asks for the charts to be checked');
    } else {
      log('WARNING: no hosts on this server, so the charts were not checked in the browser');
    }

    problems.setPhase('agent-tokens');
    await checkAgentToken(page, baseUrl);

    problems.setPhase('ai');
    await checkAi(page, baseUrl, problems);

    problems.setPhase('remediation');
    await checkRemediation(page, problems);

    problems.setPhase('english');
    await checkEnglish(page);

    const unexpected = problems.unexpected();
    if (unexpected.length > 0) {
      throw new Error(`browser reported problems:\n${unexpected.map((p) => `  [${p.phase}] ${p.text}`).join('\n')}`);
    }
    log('no console errors');
    log('PASS');
  } catch (error) {
    failed = true;
    console.error(`[e2e] FAIL: ${error instanceof Error ? error.message : String(error)}`);
    if (page) await shot(page, 'failure').catch(() => undefined);
  } finally {
    for (const cleanup of cleanups) {
      try {
        await cleanup();
      } catch {
        // best effort
      }
    }
  }
  process.exit(failed ? 1 : 0);
}

await main();
