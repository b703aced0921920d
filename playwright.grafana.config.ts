import { defineConfig } from '@playwright/test';

import base from './playwright.config';

// Specs against a real Grafana with its web UI and Vigil loaded: the Go
// end-to-end tests start Grafana 10.0 and run these with GRAFANA_URL set
// (pkg/e2e/ui_test.go); against docker-compose's Grafana:
//   GRAFANA_URL=http://127.0.0.1:3000 npx playwright test -c playwright.grafana.config.ts
export default defineConfig({
  ...base,
  testDir: './playwright/grafana',
  testIgnore: [],
  globalSetup: undefined,
  outputDir: './test-results/grafana',
  timeout: 90_000,
  use: {
    ...base.use,
    baseURL: process.env.GRAFANA_URL ?? 'http://127.0.0.1:3000',
    // Basic auth signs every request in, the UI's included (admin/admin).
    httpCredentials: { username: process.env.GRAFANA_USER ?? 'admin', password: process.env.GRAFANA_PASSWORD ?? 'admin' },
  },
});
