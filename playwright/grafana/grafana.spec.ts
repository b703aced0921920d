import { expect, Page, test } from '@playwright/test';
import fs from 'fs';

// Vigil in the real Grafana UI: the data source config page, Save & test,
// the panel editor with Vigil's query editor, and the provisioned
// dashboards with every panel rendered and no panel error.
// Sign in through Grafana's login API; the session cookie then serves the UI.
test.beforeEach(async ({ page }) => {
  const res = await page.request.post('/login', {
    data: { user: process.env.GRAFANA_USER ?? 'admin', password: process.env.GRAFANA_PASSWORD ?? 'admin' },
  });
  expect(res.ok()).toBeTruthy();
});

async function noConsoleErrors(page: Page) {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  return errors;
}

async function shot(page: Page, name: string) {
  const file = `test-results/grafana/${name}.png`;
  await page.screenshot({ path: file, fullPage: true });
  expect(fs.statSync(file).size, `${file} looks blank`).toBeGreaterThan(30_000);
}

test('data source settings: Save & test reports InfluxDB healthy', async ({ page }) => {
  const errors = await noConsoleErrors(page);
  const bucket: string = (await (await page.request.get('/api/datasources/uid/vigil')).json()).jsonData.defaultBucket;
  await page.goto('/datasources/edit/vigil');
  await expect(page.getByText('InfluxDB connection')).toBeVisible();
  await expect(page.locator('#vigil-default-bucket')).toHaveValue(bucket);
  await page.getByRole('button', { name: /save & test/i }).click();
  await expect(page.getByText(`is reachable and bucket "${bucket}" can be read`)).toBeVisible();
  await shot(page, 'datasource-settings');
  expect(errors).toEqual([]);
});

// Each dashboard with its panels and the number of /api/ds/query calls its
// panels and annotations make (the live panel streams instead).
for (const [uid, panels, queries] of [
  ['vigil-printer', ['Temperatures', 'Anomalous windows', 'Live p-values'], 6],
  ['vigil-house', ['Unmetered energy', 'Alert history'], 3],
] as const) {
  test(`dashboard ${uid}: every panel renders without error`, async ({ page }) => {
    const errors = await noConsoleErrors(page);
    let answered = 0;
    page.on('response', (r) => {
      if (r.url().includes('/api/ds/query')) {
        answered++;
      }
    });
    await page.goto(`/d/${uid}`);
    for (const title of panels) {
      await expect(page.getByTestId(`data-testid Panel header ${title}`)).toBeVisible({ timeout: 30_000 });
    }
    // Once every query has answered, no panel may show an error.
    await expect.poll(() => answered, { timeout: 60_000 }).toBeGreaterThanOrEqual(queries);
    await expect(page.locator('[data-testid*="Panel status error"]')).toHaveCount(0);
    await expect(page.locator('.panel-info-corner--error')).toHaveCount(0);
    await shot(page, `dashboard-${uid}`);
    expect(errors).toEqual([]);
  });
}

test('panel editor: the t-test query editor runs and shows one series per field', async ({ page }) => {
  const errors = await noConsoleErrors(page);
  await page.goto('/d/vigil-printer?editPanel=3');
  await expect(page.getByLabel('Alpha')).toBeVisible({ timeout: 30_000 });
  await page.getByLabel('Alpha').fill('0.01');
  const response = page.waitForResponse((r) => r.url().includes('/api/ds/query'));
  await page.getByLabel('Alpha').blur();
  expect((await response).status()).toBe(200);
  for (const field of ['hotend', 'bed', 'air']) {
    await expect(page.getByText(field, { exact: true }).first()).toBeVisible();
  }
  await page.getByLabel('Alpha').fill('2');
  await page.getByLabel('Alpha').blur();
  await expect(page.getByText('Alpha must be between 0 and 1')).toBeVisible();
  await shot(page, 'panel-editor');
  expect(errors).toEqual([]);
});

test('data source settings: a wrong token gets the actionable message', async ({ page }) => {
  const errors = await noConsoleErrors(page);
  const main = await (await page.request.get('/api/datasources/uid/vigil')).json();
  await page.request.delete('/api/datasources/uid/vigil-wrong-token');
  const created = await page.request.post('/api/datasources', {
    data: {
      name: 'Vigil wrong token', uid: 'vigil-wrong-token', type: 'vigil-anomaly-datasource', access: 'proxy',
      url: main.url, jsonData: { defaultBucket: main.jsonData.defaultBucket }, secureJsonData: { token: 'vigil:not-the-password' },
    },
  });
  expect(created.ok()).toBeTruthy();
  await page.goto('/datasources/edit/vigil-wrong-token');
  await page.getByRole('button', { name: /save & test/i }).click();
  await expect(page.getByText(/InfluxDB refused the token \(HTTP 401/)).toBeVisible();
  await expect(page.getByText('not-the-password')).toHaveCount(0);
  await shot(page, 'datasource-wrong-token');
  expect(errors).toEqual([]);
});

test('Explore: the power query draws the unmetered energy', async ({ page }) => {
  const errors = await noConsoleErrors(page);
  const left = {
    datasource: 'vigil',
    queries: [{ refId: 'A', datasource: { type: 'vigil-anomaly-datasource', uid: 'vigil' }, queryType: 'power', bucket: 'house/autogen', measurement: 'power' }],
    range: { from: 'now-2d', to: 'now' },
  };
  const response = page.waitForResponse((r) => r.url().includes('/api/ds/query') && r.status() === 200);
  await page.goto(`/explore?orgId=1&left=${encodeURIComponent(JSON.stringify(left))}`);
  const body = await (await response).json();
  expect(body.results.A.frames[0].data.values[0].length).toBeGreaterThan(10);
  await expect(page.getByLabel('Active power')).toBeVisible();
  await shot(page, 'explore-power');
  expect(errors).toEqual([]);
});
