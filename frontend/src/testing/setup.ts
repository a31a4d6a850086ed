/** Vitest setup: jest-dom matchers, the browser APIs jsdom lacks that antd needs, and a clean slate per test. */
import '@testing-library/jest-dom/vitest';
import { cleanup, configure } from '@testing-library/react';
import { createElement } from 'react';
import { afterEach, vi } from 'vitest';

// Whole pages render here, lazily loaded and with antd's CSS-in-JS, which takes a while in jsdom.
// `defaultHidden` skips ByRole's visibility check, which calls getComputedStyle up the tree against
// every antd style tag and makes a single query take seconds.
configure({ asyncUtilTimeout: 8000, defaultHidden: true });

// antd's responsive helpers (Grid, Sider breakpoints, Table) call matchMedia, which jsdom lacks.
Object.defineProperty(window, 'matchMedia', {
  writable: true,
  configurable: true,
  value: (query: string): MediaQueryList => ({
    matches: false,
    media: query,
    onchange: null,
    // The legacy pair is still part of MediaQueryList, and older code paths call it.
    // eslint-disable-next-line @typescript-eslint/no-deprecated
    addListener: () => undefined,
    // eslint-disable-next-line @typescript-eslint/no-deprecated
    removeListener: () => undefined,
    addEventListener: () => undefined,
    removeEventListener: () => undefined,
    dispatchEvent: () => false,
  }),
});

// Size observers (antd Table, Tabs, Typography ellipsis) only need the constructor to exist.
class ResizeObserverStub {
  observe() {}
  unobserve() {}
  disconnect() {}
}
vi.stubGlobal('ResizeObserver', ResizeObserverStub);

// jsdom implements getComputedStyle without pseudo-elements and logs "Not implemented" for them;
// antd's scrollbar measurement asks for one.
const getComputedStyle = window.getComputedStyle.bind(window);
window.getComputedStyle = (element: Element) => getComputedStyle(element);

// Charts draw on a canvas that jsdom does not have; a labelled placeholder stands in. The real
// charts are checked in a real browser by e2e/smoke.mjs.
vi.mock('@/components/charts/EChart', () => ({
  EChart: ({ ariaLabel }: { ariaLabel?: string }) => createElement('div', { role: 'img', 'aria-label': ariaLabel }),
}));

afterEach(() => {
  cleanup();
  localStorage.clear();
  vi.unstubAllGlobals();
  vi.stubGlobal('ResizeObserver', ResizeObserverStub);
});
