import { test } from '@playwright/test';

import { checkPanel, loadPanels, openPanels } from './panelChecks';

// Provisioned dashboard panels rendered with @grafana/ui's visualizations from
// the frames the plugin returned (VIGIL_PANELS_JSON, written by pkg/e2e; by
// hand: VIGIL_PANELS_JSON=playwright/fixtures/panels.json). Runs with
// playwright.panels.config.ts; a missing or empty file fails the run.
const input = loadPanels(process.env.VIGIL_PANELS_JSON);

input.panels.forEach((panel, i) => {
  test(`${panel.dashboard ?? 'panel'} / ${panel.title}`, async ({ page }) => {
    // A band panel of 2-second windows over a day draws some 170,000 values: its frames, drawing and pixel
    // checks take 30-40 s on a busy machine, more than the default minute leaves room for.
    const values = panel.frames.reduce((n, f) => n + (f.data?.values ?? []).slice(1).reduce((m, v) => m + (v?.length ?? 0), 0), 0);
    if (values > 50_000) {
      test.setTimeout(180_000);
    }
    // One panel per page: a panel that hangs the page cannot take the others with it.
    const errors = await openPanels(page, [panel]);
    await checkPanel(page, panel, 0, errors, `${String(i).padStart(2, '0')}-${slug(panel.dashboard)}-${slug(panel.title)}`);
  });
});

function slug(s = '') {
  return s.replace(/[^A-Za-z0-9]+/g, '-').replace(/^-|-$/g, '').toLowerCase();
}
