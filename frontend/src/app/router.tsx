/** The route objects of the SPA, and the 401 rule's navigation to the login page. */
import type { RouteObject } from 'react-router-dom';
import { LoginPage, type LoginLocationState } from '@/features/auth/components/LoginPage';
import { AppShell } from './AppShell';
import { NotFoundPage, RequireAccess, RequireSession, RouteErrorPage } from './guards';
import { APP_ROUTES } from './routes';

export function appRouteObjects(): RouteObject[] {
  return [
    { path: '/login', element: <LoginPage />, errorElement: <RouteErrorPage /> },
    {
      element: (
        <RequireSession>
          <AppShell />
        </RequireSession>
      ),
      errorElement: <RouteErrorPage />,
      children: [
        ...APP_ROUTES.map((route) => ({
          path: route.path,
          element: <RequireAccess access={route.access}>{route.element}</RequireAccess>,
        })),
        { path: '*', element: <NotFoundPage /> },
      ],
    },
  ];
}

/** Where a 401 sends the user: the login page, remembering the page to come back to. */
export function loginRedirectState(location: { pathname: string; search: string }): LoginLocationState {
  return { expired: true, from: `${location.pathname}${location.search}` };
}
