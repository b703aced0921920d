import { defineConfig } from '@playwright/test';

import base from './playwright.config';

// Dashboard panels from a panels file (VIGIL_PANELS_JSON): pkg/e2e writes one
// from the plugin's answers; playwright/fixtures/panels.json is one to run by hand.
export default defineConfig({
  ...base,
  testMatch: /panels\.spec\.ts/,
  testIgnore: /grafana\//,
  // Its own output dir, so a run keeps the editors' screenshots in test-results/
  // (the panels' own screenshots go to test-results/panels/).
  outputDir: './test-results/panels-run',
});
