// ESLint flat config: typescript-eslint with type information (for `no-deprecated`, which catches
// antd props removed in the next major), React hooks rules, and the import boundaries of STYLE.md.
import { readdirSync } from 'node:fs';
import js from '@eslint/js';
import reactHooks from 'eslint-plugin-react-hooks';
import reactRefresh from 'eslint-plugin-react-refresh';
import globals from 'globals';
import tseslint from 'typescript-eslint';

const features = readdirSync(new URL('./src/features', import.meta.url), { withFileTypes: true })
  .filter((entry) => entry.isDirectory())
  .map((entry) => entry.name);

const layerRule = (patterns) => ({ 'no-restricted-imports': ['error', { patterns }] });
const noApp = { group: ['@/app/*', '**/app/*'], message: 'Imports flow shared → features → app.' };
const noFeatures = { group: ['@/features/*', '**/features/*'], message: 'Shared code must not import a feature.' };
const noEchartsFull = [
  { name: 'echarts', message: 'Import ECharts piecemeal in components/charts/EChart.tsx.' },
  { name: 'echarts-for-react', message: 'Use components/charts/EChart.tsx.' },
];

export default tseslint.config(
  { ignores: ['dist', 'node_modules', 'e2e/out'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', ignoreRestSiblings: true }],
    },
  },
  {
    files: ['src/**/*.{ts,tsx}', 'vite.config.ts'],
    languageOptions: {
      ecmaVersion: 2022,
      globals: globals.browser,
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    plugins: { 'react-hooks': reactHooks, 'react-refresh': reactRefresh },
    rules: {
      ...reactHooks.configs.recommended.rules,
      'react-refresh/only-export-components': ['warn', { allowConstantExport: true }],
      '@typescript-eslint/no-deprecated': 'error',
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-restricted-imports': [
        'error',
        {
          paths: noEchartsFull,
          patterns: [{ group: ['echarts-for-react/lib/*'], message: 'The CommonJS build crashes the bundle; use EChart.tsx.' }],
        },
      ],
    },
  },
  {
    files: ['src/components/**', 'src/lib/**', 'src/i18n/**'],
    ignores: ['src/components/charts/EChart.tsx'],
    rules: layerRule([noApp, noFeatures]),
  },
  ...features.map((feature) => ({
    files: [`src/features/${feature}/**`],
    rules: layerRule([
      noApp,
      {
        group: features.filter((other) => other !== feature).flatMap((other) => [`@/features/${other}/*`, `**/features/${other}/*`]),
        message: 'Features never import each other; move shared code to src/components or src/lib.',
      },
    ]),
  })),
  {
    files: ['src/**/*.test.{ts,tsx}', 'src/testing/**'],
    rules: { 'react-refresh/only-export-components': 'off' },
  },
  {
    files: ['e2e/**/*.mjs', 'eslint.config.js'],
    languageOptions: { globals: globals.node },
  },
);
