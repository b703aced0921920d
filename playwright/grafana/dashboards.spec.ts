import { expect, test } from '@grafana/plugin-e2e';

import { pageErrors, shot } from './helpers';

// Each provisioned dashboard opens with every panel rendered and no panel
// error. `queries` is how many /api/ds/query calls its panels and annotations
// make (the live panel streams instead): all must have answered first.
for (const { uid, panels, queries } of [
  { uid: 'vigil-printer', panels: ['Temperatures', 'Anomalous windows', 'Live p-values'], queries: 6 },
  { uid: 'vigil-house', panels: ['Unmetered energy', 'Alert history'], queries: 3 },
]) {
  test(`dashboard ${uid}: every panel renders without error`, async ({ gotoDashboardPage, page }) => {
    const errors = pageErrors(page);
    let answered = 0;
    page.on('response', (r) => {
      if (r.url().includes('/api/ds/query')) {
        answered++;
      }
    });
    const dashboardPage = await gotoDashboardPage({ uid });
    for (const title of panels) {
      await expect(dashboardPage.getPanelByTitle(title).locator).toBeVisible({ timeout: 30_000 });
    }
    await expect.poll(() => answered, { timeout: 60_000 }).toBeGreaterThanOrEqual(queries);
    await dashboardPage.waitForPanelsQueriesToComplete({ timeout: 60_000 });
    await expect(dashboardPage).not.toHavePanelErrors();
    await shot(page, `dashboard-${uid}`);
    expect(errors).toEqual([]);
  });
}
