/** Renders the whole app (providers, routes, guards) at a path, in a memory router. */
import { render } from '@testing-library/react';
import { createMemoryRouter } from 'react-router-dom';
import { App } from '@/app/App';
import { LOCALE_STORAGE_KEY, type Locale } from '@/i18n/i18n';
import { createQueryClient } from '@/lib/query-client';

export function renderApp(path: string, { locale = 'en' }: { locale?: Locale } = {}) {
  localStorage.setItem(LOCALE_STORAGE_KEY, locale);
  const queryClient = createQueryClient();
  queryClient.setDefaultOptions({
    queries: { ...queryClient.getDefaultOptions().queries, retry: false, refetchInterval: false },
  });
  let router: ReturnType<typeof createMemoryRouter> | undefined;
  const result = render(
    <App
      queryClient={queryClient}
      createRouter={(routes) => {
        router = createMemoryRouter(routes, { initialEntries: [path] });
        return router;
      }}
    />,
  );
  const currentPath = () => (router ? `${router.state.location.pathname}${router.state.location.search}` : '');
  return { ...result, queryClient, currentPath };
}
