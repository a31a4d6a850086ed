import { screen, waitFor, within } from '@testing-library/react';
import userEvent, { PointerEventsCheckLevel } from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import type { AgentToken, CreatedAgentToken } from '@/lib/api-types';
import { json, mockFetch } from '@/testing/fetch-mock';
import { agentToken, consoleRoutes, signIn } from '@/testing/fixtures';
import { renderApp } from '@/testing/render';

const PLAINTEXT = 'vop_ab12cd34ef56gh78ij90kl12mn34op56';

function tokenServer() {
  const tokens: AgentToken[] = [agentToken(3, { name: 'edge' }), agentToken(1, { name: 'old', is_active: false })];
  return mockFetch({
    ...consoleRoutes('admin'),
    'GET /api/v1/agent-tokens': () => json(200, tokens),
    'POST /api/v1/agent-tokens': ({ body }) => {
      const { name } = body as { name: string };
      const created: CreatedAgentToken = { ...agentToken(2, { name, token_prefix: 'vop_ab12' }), token: PLAINTEXT };
      const { token: _plaintext, ...listed } = created;
      tokens.unshift(listed);
      return json(201, created);
    },
    'DELETE /api/v1/agent-tokens/:id': ({ params }) => {
      const token = tokens.find((t) => t.id === Number(params.id));
      if (!token) return json(404, { detail: 'Token not found' });
      token.is_active = false;
      return json(204);
    },
  });
}

describe('agent tokens', () => {
  it('shows the plaintext token once, with the agent command, and never again', async () => {
    signIn('admin');
    const server = tokenServer();
    const app = renderApp('/agent-tokens');
    const events = userEvent.setup({ delay: null, pointerEventsCheck: PointerEventsCheckLevel.Never });

    await screen.findByText('edge');
    await events.click(screen.getByTestId('create-token'));
    await events.type(await screen.findByLabelText('Name'), '  production ');
    await events.click(screen.getByTestId('create-token-submit'));

    const shown = await screen.findByTestId('token-created');
    expect(server.callsTo('POST', '/api/v1/agent-tokens')[0]?.body).toEqual({ name: 'production' });
    expect(within(shown).getByTestId('token-plaintext')).toHaveTextContent(PLAINTEXT);
    expect(within(shown).getByTestId('token-install-command')).toHaveTextContent(
      `vigilops-agent config --server ${window.location.origin} --token ${PLAINTEXT}`,
    );
    expect(within(shown).getByText(/cannot be shown again/)).toBeInTheDocument();

    // The list is re-read and shows the new token by prefix only.
    await waitFor(() => expect(server.callsTo('GET', '/api/v1/agent-tokens').length).toBeGreaterThanOrEqual(2));

    await events.click(screen.getByTestId('token-created-done'));
    await waitFor(() => expect(screen.queryByText(PLAINTEXT)).not.toBeInTheDocument());
    expect(document.body.innerHTML).not.toContain(PLAINTEXT);
    expect(await screen.findByText('production')).toBeInTheDocument();

    // Nothing in the data caches keeps the plaintext either.
    const cached = JSON.stringify([
      app.queryClient.getQueryCache().getAll().map((query) => query.state.data),
      app.queryClient.getMutationCache().getAll().map((mutation) => mutation.state.data),
    ]);
    expect(cached).not.toContain(PLAINTEXT);
  });

  it('revokes a token after confirmation', async () => {
    signIn('admin');
    const server = tokenServer();
    renderApp('/agent-tokens');
    const events = userEvent.setup({ delay: null, pointerEventsCheck: PointerEventsCheckLevel.Never });

    const row = (await screen.findByText('edge')).closest('tr');
    expect(row).not.toBeNull();
    await events.click(within(row!).getByText('Revoke'));
    expect(await screen.findByText('Revoke token "edge"?')).toBeInTheDocument();
    // The confirm button of the popconfirm is the last "Revoke" on the page.
    await events.click(screen.getAllByText('Revoke').at(-1)!);

    await waitFor(() => expect(server.callsTo('DELETE', '/api/v1/agent-tokens/3')).toHaveLength(1));
    expect(await screen.findByText('Token revoked')).toBeInTheDocument();
    // The list is re-read and the row now shows the revoked state without a revoke action.
    await waitFor(() => expect(within(screen.getByText('edge').closest('tr')!).getByText('Revoked')).toBeInTheDocument());
    expect(within(screen.getByText('edge').closest('tr')!).queryByText('Revoke')).toBeNull();
  });

  it('shows a validation message instead of creating a nameless token', async () => {
    signIn('admin');
    const server = tokenServer();
    renderApp('/agent-tokens');
    const events = userEvent.setup({ delay: null, pointerEventsCheck: PointerEventsCheckLevel.Never });
    await events.click(await screen.findByTestId('create-token'));
    await events.click(await screen.findByTestId('create-token-submit'));
    expect(await screen.findByText('Enter a token name')).toBeInTheDocument();
    expect(server.callsTo('POST', '/api/v1/agent-tokens')).toHaveLength(0);
  });
});
