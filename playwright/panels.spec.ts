import { test } from '@playwright/test';

import { checkPanel, loadPanels, openPanels } from './panelChecks';

// Provisioned dashboard panels rendered with @grafana/ui's visualizations from
// the frames the plugin returned (VIGIL_PANELS_JSON, written by pkg/e2e; by
// hand: VIGIL_PANELS_JSON=playwright/fixtures/panels.json). Runs with
// playwright.panels.config.ts; a missing or empty file fails the run.
const input = loadPanels(process.env.VIGIL_PANELS_JSON);

input.panels.forEach((panel, i) => {
  test(`${panel.dashboard ?? 'panel'} / ${panel.title}`, async ({ page }) => {
    // One panel per page: a panel that hangs the page cannot take the others with it.
    const errors = await openPanels(page, [panel]);
    await checkPanel(page, panel, 0, errors, `${String(i).padStart(2, '0')}-${slug(panel.dashboard)}-${slug(panel.title)}`);
  });
});

function slug(s = '') {
  return s.replace(/[^A-Za-z0-9]+/g, '-').replace(/^-|-$/g, '').toLowerCase();
}
