/// <reference types="vitest/config" />
import { fileURLToPath, URL } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// The Rust server listens here in development; `npm run dev` proxies every server path to it so the
// SPA stays same-origin (no CORS, and the WebSocket session cookie is sent).
const apiTarget = process.env.VIGILOPS_API ?? 'http://127.0.0.1:8001';

const proxy = {
  '/api': { target: apiTarget, changeOrigin: false, ws: true },
  '/health': { target: apiTarget, changeOrigin: false },
  '/ws': { target: apiTarget, changeOrigin: false, ws: true },
};

export default defineConfig({
  plugins: [react()],
  resolve: {
    alias: { '@': fileURLToPath(new URL('./src', import.meta.url)) },
  },
  server: { host: '127.0.0.1', port: 5173, proxy },
  preview: { host: '127.0.0.1', port: 4173, proxy },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // antd alone is ~1.1 MB minified; it is cached separately from the app code, so the default
    // 500 kB warning only adds noise.
    chunkSizeWarningLimit: 1400,
    rolldownOptions: {
      output: {
        // Long-lived vendor chunks: the app code changes far more often than these libraries.
        // ECharts gets its own chunk so that pages without charts never download it.
        codeSplitting: {
          groups: [
            { name: 'echarts', test: /node_modules[\\/](echarts|zrender)[\\/]/, priority: 30 },
            { name: 'react', test: /node_modules[\\/](react|react-dom|react-router|react-router-dom|scheduler)[\\/]/, priority: 20 },
            { name: 'antd', test: /node_modules[\\/](antd|@ant-design|@rc-component|rc-[^\\/]+|@emotion|dayjs)[\\/]/, priority: 10 },
          ],
        },
      },
    },
  },
  test: {
    environment: 'jsdom',
    setupFiles: ['./src/testing/setup.ts'],
    include: ['src/**/*.test.{ts,tsx}'],
    css: false,
    restoreMocks: true,
    // jsdom renders of Ant Design pages take seconds on a loaded 2-CPU CI machine; a slow run
    // is not a failure (seen: an 8-step page test over 15 s while Rust compiled alongside).
    testTimeout: 60000,
  },
});
