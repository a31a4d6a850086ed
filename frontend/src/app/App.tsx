/** The application: providers around the router, and the 401 rule wired to navigation. */
import type { QueryClient } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { RouterProvider, createBrowserRouter } from 'react-router-dom';
import { onUnauthorized } from '@/lib/api-client';
import { AppProviders } from './providers';
import { appRouteObjects, loginRedirectState } from './router';

type AppRouter = ReturnType<typeof createBrowserRouter>;

export function App({
  queryClient,
  createRouter = createBrowserRouter,
}: {
  queryClient: QueryClient;
  /** Tests pass `createMemoryRouter`-like factories. */
  createRouter?: (routes: ReturnType<typeof appRouteObjects>) => AppRouter;
}) {
  const [router] = useState(() => createRouter(appRouteObjects()));

  useEffect(
    () =>
      onUnauthorized(() => {
        // The session is already cleared; drop every cached answer of the old session too.
        queryClient.clear();
        const { location } = router.state;
        if (location.pathname !== '/login') {
          void router.navigate('/login', { replace: true, state: loginRedirectState(location) });
        }
      }),
    [queryClient, router],
  );

  return (
    <AppProviders queryClient={queryClient}>
      <RouterProvider router={router} />
    </AppProviders>
  );
}
