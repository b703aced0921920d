import { defineConfig } from '@playwright/test';

// Browser tests of the editors, in Debian's Chromium (the project installs it
// with apt; Playwright's own browser downloads are not reachable here).
export default defineConfig({
  testDir: './playwright',
  testMatch: /.*\.spec\.ts/,
  // playwright/grafana needs a running Grafana: pkg/e2e runs it (playwright.grafana.config.ts).
  // panels.spec.ts needs a panels file (VIGIL_PANELS_JSON): playwright.panels.config.ts.
  testIgnore: [/grafana\//, /panels\.spec\.ts/],
  globalSetup: './playwright/global-setup.ts',
  outputDir: './test-results',
  reporter: [['list']],
  workers: 1,
  timeout: 60_000,
  use: {
    viewport: { width: 1280, height: 900 },
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
    },
  },
});
