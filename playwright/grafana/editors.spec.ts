import { expect, test } from '@grafana/plugin-e2e';

import { DS, Frame, pageErrors, pick, shot } from './helpers';

// Vigil's query editor inside Grafana: a new panel's editor and Explore.

test('panel editor: a t-test of fields picked from the list, one series per field', async ({ panelEditPage, page }) => {
  const errors = pageErrors(page);
  await panelEditPage.datasource.set(DS.name);
  const row = panelEditPage.getQueryEditorRow('A');
  await row.getByText('t-test', { exact: true }).click();
  await row.getByLabel('Bucket').fill('printer/autogen');
  await row.getByLabel('Bucket').blur();
  await pick(page, row.getByLabel('Measurement'), 'temperatures');
  for (const field of ['hotend', 'bed']) {
    await pick(page, row.getByLabel('Fields'), field);
  }
  await page.keyboard.press('Escape');
  // A complete change (alpha, on leaving the input) runs the query.
  const answered = panelEditPage.waitForQueryDataResponse((r) => !!r.request().postData()?.includes('"alpha":0.01'));
  await row.getByLabel('Alpha').fill('0.01');
  await row.getByLabel('Alpha').blur();
  const response = await answered;
  expect(response.ok()).toBeTruthy();
  const frames: Frame[] = (await response.json()).results.A.frames;
  const series = frames.map((f) => f.schema.fields[1].labels?.field);
  expect(series.sort()).toEqual(['bed', 'hotend']);
  for (const field of ['hotend', 'bed']) {
    await expect(panelEditPage.panel.locator.getByText(field, { exact: false }).first()).toBeVisible();
  }
  await shot(page, 'panel-editor-ttest');

  // An invalid alpha is explained inline and not run.
  let sent = 0;
  page.on('request', (r) => {
    if (r.url().includes('/api/ds/query')) {
      sent++;
    }
  });
  await row.getByLabel('Alpha').fill('2');
  await row.getByLabel('Alpha').blur();
  await expect(row.getByText('Alpha must be between 0 and 1')).toBeVisible();
  expect(sent).toBe(0);
  await shot(page, 'panel-editor-invalid-alpha');
  expect(errors).toEqual([]);
});

test('Explore: the power query draws the unmetered energy', async ({ explorePage, page }) => {
  const errors = pageErrors(page);
  await explorePage.datasource.set(DS.name);
  await explorePage.timeRange.set({ from: 'now-2d', to: 'now' });
  const row = explorePage.getQueryEditorRow('A');
  await row.getByText('Power', { exact: true }).click();
  await row.getByLabel('Bucket').fill('house/autogen');
  await row.getByLabel('Bucket').blur();
  // Picking the measurement completes the query: it runs.
  const answered = explorePage.waitForQueryDataResponse((r) => !!r.request().postData()?.includes('"measurement":"power"'));
  await pick(page, row.getByLabel('Measurement'), 'power');
  const response = await answered;
  expect(response.ok()).toBeTruthy();
  const values = (await response.json()).results.A.frames[0].data.values;
  expect(values[0].length).toBeGreaterThan(10);
  await expect(page.getByText('Unmetered energy').first()).toBeVisible();
  await shot(page, 'explore-power');
  expect(errors).toEqual([]);
});
