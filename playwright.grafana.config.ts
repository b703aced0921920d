import type { PluginOptions } from '@grafana/plugin-e2e';
import { defineConfig } from '@playwright/test';
import { dirname } from 'path';

import base from './playwright.config';

// @grafana/plugin-e2e specs against a real Grafana with its web UI and Vigil
// provisioned. The Go end-to-end tests start Grafana 10.0 and run these with
// GRAFANA_URL and GRAFANA_VERSION set (pkg/e2e/grafana_ui_test.go); against
// docker-compose's Grafana (README, "Browser tests"):
//   GRAFANA_URL=http://127.0.0.1:3000 npx playwright test -c playwright.grafana.config.ts
const pluginE2eAuth = `${dirname(require.resolve('@grafana/plugin-e2e'))}/auth`;

export default defineConfig<PluginOptions>({
  ...base,
  testDir: './playwright/grafana',
  testIgnore: [],
  globalSetup: undefined,
  outputDir: './test-results/grafana',
  timeout: 90_000,
  expect: { timeout: 15_000 },
  use: {
    ...base.use,
    baseURL: process.env.GRAFANA_URL ?? 'http://127.0.0.1:3000',
    screenshot: 'only-on-failure',
  },
  projects: [
    // plugin-e2e's login (GRAFANA_ADMIN_USER / GRAFANA_ADMIN_PASSWORD, default admin/admin).
    { name: 'auth', testDir: pluginE2eAuth, testMatch: [/.*\.js/] },
    {
      name: 'grafana',
      use: { storageState: 'playwright/.auth/admin.json' },
      dependencies: ['auth'],
    },
  ],
});
