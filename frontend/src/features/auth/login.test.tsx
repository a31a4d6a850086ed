import { screen, waitFor } from '@testing-library/react';
import userEvent, { PointerEventsCheckLevel } from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import { ACCESS_TOKEN_KEY, REFRESH_TOKEN_KEY, USER_ROLE_KEY } from '@/lib/session';
import { json, mockFetch } from '@/testing/fetch-mock';
import { consoleRoutes, signIn, tokenPair, user } from '@/testing/fixtures';
import { renderApp } from '@/testing/render';

async function fillLogin(email: string, password: string) {
  const events = userEvent.setup({ delay: null, pointerEventsCheck: PointerEventsCheckLevel.Never });
  await events.type(await screen.findByLabelText('Email'), email);
  await events.type(screen.getByLabelText('Password'), password);
  await events.click(screen.getByTestId('login-submit'));
}

describe('login flow', () => {
  it('sends a visitor to /login, signs in, stores the session and returns to the page asked for', async () => {
    const server = mockFetch({
      ...consoleRoutes('admin'),
      'POST /api/v1/auth/login': () => json(200, tokenPair),
    });
    const app = renderApp('/hosts?status=offline');

    expect(await screen.findByTestId('login-submit')).toBeInTheDocument();
    expect(app.currentPath()).toBe('/login');

    await fillLogin('  admin@example.com ', 'correct horse');

    await waitFor(() => expect(app.currentPath()).toBe('/hosts?status=offline'));
    const [loginCall] = server.callsTo('POST', '/api/v1/auth/login');
    expect(loginCall?.body).toEqual({ email: 'admin@example.com', password: 'correct horse' });
    expect(loginCall?.headers.get('Authorization')).toBeNull();

    const [meCall] = server.callsTo('GET', '/api/v1/auth/me');
    expect(meCall?.headers.get('Authorization')).toBe(`Bearer ${tokenPair.access_token}`);
    expect(localStorage.getItem(ACCESS_TOKEN_KEY)).toBe(tokenPair.access_token);
    expect(localStorage.getItem(REFRESH_TOKEN_KEY)).toBe(tokenPair.refresh_token);
    expect(localStorage.getItem(USER_ROLE_KEY)).toBe('admin');
    expect(await screen.findByText('Hosts', { selector: 'h4' })).toBeInTheDocument();
  });

  it('shows the server detail for bad credentials and stays on the login page', async () => {
    mockFetch({
      ...consoleRoutes('viewer'),
      'POST /api/v1/auth/login': () => json(401, { detail: 'Invalid credentials' }),
    });
    const app = renderApp('/login');

    await fillLogin('admin@example.com', 'wrong');

    expect(await screen.findByText('Invalid credentials')).toBeInTheDocument();
    expect(app.currentPath()).toBe('/login');
    expect(localStorage.getItem(ACCESS_TOKEN_KEY)).toBeNull();
  });

  it('validates the form before calling the server', async () => {
    const server = mockFetch(consoleRoutes('viewer'));
    renderApp('/login');
    await userEvent.setup({ delay: null, pointerEventsCheck: PointerEventsCheckLevel.Never }).click(await screen.findByTestId('login-submit'));
    expect(await screen.findByText('Enter your email')).toBeInTheDocument();
    expect(screen.getByText('Enter your password')).toBeInTheDocument();
    expect(server.callsTo('POST', '/api/v1/auth/login')).toHaveLength(0);
  });

  it.each([
    [403, 'Registration is disabled'],
    [409, 'Email already registered'],
    [429, 'Too many attempts. Please try again in 5 minutes.'],
  ])('shows the register refusal %i as the server words it', async (status, detail) => {
    mockFetch({ 'POST /api/v1/auth/register': () => json(status, { detail }) });
    renderApp('/login');
    const events = userEvent.setup({ delay: null, pointerEventsCheck: PointerEventsCheckLevel.Never });
    await events.click(await screen.findByText('Register'));
    await events.type(screen.getByLabelText('Name'), 'Ada');
    await events.type(screen.getAllByLabelText('Email')[1]!, 'ada@example.com');
    await events.type(screen.getAllByLabelText('Password')[1]!, 'long-enough-1');
    await events.type(screen.getByLabelText('Confirm password'), 'long-enough-1');
    await events.click(screen.getByTestId('register-submit'));
    expect(await screen.findByText(detail)).toBeInTheDocument();
    expect(localStorage.getItem(ACCESS_TOKEN_KEY)).toBeNull();
  });

  it('registers the first user and signs them in as admin', async () => {
    const server = mockFetch({
      ...consoleRoutes('admin'),
      'POST /api/v1/auth/register': () => json(201, tokenPair),
    });
    const app = renderApp('/login');
    const events = userEvent.setup({ delay: null, pointerEventsCheck: PointerEventsCheckLevel.Never });
    await events.click(await screen.findByText('Register'));
    await events.type(screen.getByLabelText('Name'), ' Ada ');
    await events.type(screen.getAllByLabelText('Email')[1]!, 'ada@example.com');
    await events.type(screen.getAllByLabelText('Password')[1]!, 'long-enough-1');
    await events.type(screen.getByLabelText('Confirm password'), 'long-enough-1');
    await events.click(screen.getByTestId('register-submit'));

    await waitFor(() => expect(app.currentPath()).toBe('/'));
    expect(server.callsTo('POST', '/api/v1/auth/register')[0]?.body).toEqual({
      email: 'ada@example.com',
      name: 'Ada',
      password: 'long-enough-1',
    });
    expect(localStorage.getItem(USER_ROLE_KEY)).toBe('admin');
  });

  it('ends the session on any 401 and goes back to /login', async () => {
    signIn('viewer');
    mockFetch({
      ...consoleRoutes('viewer'),
      'GET /api/v1/hosts': () => json(401, { detail: 'Invalid token' }),
    });
    const app = renderApp('/hosts');

    expect(await screen.findByText('Your session has ended. Please sign in again.')).toBeInTheDocument();
    expect(app.currentPath()).toBe('/login');
    expect(localStorage.getItem(ACCESS_TOKEN_KEY)).toBeNull();
    expect(localStorage.getItem(REFRESH_TOKEN_KEY)).toBeNull();
    expect(localStorage.getItem(USER_ROLE_KEY)).toBeNull();
  });

  it('logs out from the user menu', async () => {
    signIn('admin');
    mockFetch(consoleRoutes('admin'));
    const app = renderApp('/');
    const events = userEvent.setup({ delay: null, pointerEventsCheck: PointerEventsCheckLevel.Never });
    await events.hover(await screen.findByTestId('user-menu'));
    await events.click(await screen.findByText('Log out'));
    await waitFor(() => expect(app.currentPath()).toBe('/login'));
    expect(localStorage.getItem(ACCESS_TOKEN_KEY)).toBeNull();
    expect(localStorage.getItem(USER_ROLE_KEY)).toBeNull();
  });
});

// Keep the fixture honest: the console shows the name /auth/me returns.
describe('fixtures', () => {
  it('match the /auth/me shape', () => {
    expect(Object.keys(user('viewer')).sort()).toEqual(['created_at', 'email', 'id', 'is_active', 'name', 'role']);
  });
});
