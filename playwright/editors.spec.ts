import { expect, Locator, Page, test } from '@playwright/test';
import fs from 'fs';

// Renders Vigil's editors (with @grafana/ui) in Chromium, drives them as a
// user would, and keeps screenshots (test-results/*.png) that are checked for
// rendered content: a blank or unstyled page compresses to a few KB.
async function shot(locator: Locator, name: string) {
  const file = `test-results/${name}.png`;
  await locator.screenshot({ path: file });
  expect(fs.statSync(file).size, `${file} looks blank`).toBeGreaterThan(15_000);
}

async function open(page: Page) {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(process.env.HARNESS_URL!);
  await expect(page.getByRole('heading', { name: 'Query editor', exact: true })).toBeVisible();
  return errors;
}

// Label boxes that an input (or another label) covers: what a user sees as a
// label hidden under the next field.
async function overlaps(scope: Locator) {
  const boxes = async (selector: string) => {
    const out: Array<{ name: string; box: { x: number; y: number; width: number; height: number } }> = [];
    for (const el of await scope.locator(selector).all()) {
      const box = await el.boundingBox();
      if (box && box.width > 0 && box.height > 0) {
        out.push({ name: (await el.getAttribute('aria-label')) ?? (await el.textContent()) ?? selector, box });
      }
    }
    return out;
  };
  const labels = await boxes('label');
  const inputs = await boxes('input:not([type="radio"]):not([type="checkbox"])');
  const hit = (a: { x: number; y: number; width: number; height: number }, b: typeof a) =>
    Math.min(a.x + a.width, b.x + b.width) - Math.max(a.x, b.x) > 1 && Math.min(a.y + a.height, b.y + b.height) - Math.max(a.y, b.y) > 1;
  const found: string[] = [];
  for (const l of labels) {
    for (const o of [...inputs, ...labels]) {
      if (o !== l && hit(l.box, o.box)) {
        found.push(`label "${l.name}" overlaps "${o.name}"`);
      }
    }
  }
  expect(labels.length, 'labels measured').toBeGreaterThan(3);
  return found;
}

const queryJSON = async (page: Page) => JSON.parse((await page.locator('#query-json').textContent()) ?? '{}');
const runs = async (page: Page) => Number(await page.locator('#runs').textContent());

test('config editor: fill the settings and see the inline checks', async ({ page }) => {
  const errors = await open(page);
  const config = page.locator('#config');
  await expect(config.getByText('Enter the InfluxDB base URL')).toBeVisible();
  await config.locator('#vigil-url').fill('http://127.0.0.1:8086');
  await config.locator('#vigil-default-bucket').fill('printer/autogen');
  await config.locator('#vigil-token').fill('vigil:secret');
  await config.locator('#vigil-timeout').fill('-3');
  await expect(config.getByText('Must be positive (number of seconds)')).toBeVisible();
  await config.locator('#vigil-timeout').fill('45');
  await expect(config.getByText(/Must be positive/)).toHaveCount(0);
  const settings = JSON.parse((await page.locator('#settings-json').textContent()) ?? '{}');
  expect(settings).toEqual({ url: 'http://127.0.0.1:8086', jsonData: { defaultBucket: 'printer/autogen', timeout: 45 } });
  await shot(config, 'config-editor');
  expect(errors).toEqual([]);
});

test('query editor: pick a field, change alpha, switch types', async ({ page }) => {
  const errors = await open(page);
  const editor = page.locator('#query');
  await expect(editor.getByText('temperatures', { exact: true })).toBeVisible();

  // Pick "bed" from the fields the resource lists (strings are left out).
  await editor.getByLabel('Fields').click();
  await expect(page.getByText('state', { exact: true })).toHaveCount(0);
  await page.getByText('bed', { exact: true }).click();
  await page.keyboard.press('Escape');
  expect((await queryJSON(page)).fields).toEqual(['hotend', 'bed']);

  // A valid alpha runs the query; an invalid one explains and does not.
  const before = await runs(page);
  await editor.getByLabel('Alpha').fill('0.05');
  await editor.getByLabel('Alpha').blur();
  expect((await queryJSON(page)).alpha).toBe(0.05);
  expect(await runs(page)).toBe(before + 1);
  await editor.getByLabel('Alpha').fill('1.5');
  await editor.getByLabel('Alpha').blur();
  await expect(editor.getByText('Alpha must be between 0 and 1')).toBeVisible();
  expect(await runs(page)).toBe(before + 1);
  await shot(editor, 'query-editor-ttest');
  expect(await overlaps(editor), 't-test editor labels').toEqual([]);

  await editor.getByLabel('Alpha').fill('0.001');
  await editor.getByLabel('Alpha').blur();
  await editor.getByRole('radio', { name: 'Power' }).check({ force: true });
  await expect(editor.getByLabel('Active power')).toBeVisible();
  await shot(editor, 'query-editor-power');
  expect(await overlaps(editor), 'power editor labels').toEqual([]);
  expect(errors).toEqual([]);
});

test('query editor: a Kafka t-test query, line protocol and JSON', async ({ page }) => {
  const errors = await open(page);
  const editor = page.locator('#query');
  await editor.getByRole('radio', { name: 'Kafka t-test' }).check({ force: true });
  await editor.getByLabel('Topic').fill('printer');
  await editor.getByLabel('Topic').blur();
  expect(await queryJSON(page)).toMatchObject({ queryType: 'kafka', topic: 'printer' });
  await expect(editor.getByLabel('Read')).toHaveCount(0);
  await shot(editor, 'query-editor-kafka');
  expect(await overlaps(editor), 'kafka editor labels').toEqual([]);
  await editor.getByRole('radio', { name: 'JSON' }).check({ force: true });
  await expect(editor.getByLabel('Time path')).toBeVisible();
  await editor.getByLabel('Key path').fill('meta.printer');
  await editor.getByLabel('Key path').blur();
  expect(await queryJSON(page)).toMatchObject({ format: 'json', keyPath: 'meta.printer' });
  expect(await overlaps(editor), 'kafka json editor labels').toEqual([]);
  expect(errors).toEqual([]);
});

test('query editor: an anomaly query, a detector and its settings, the preview', async ({ page }) => {
  const errors = await open(page);
  const editor = page.locator('#query');
  const preview = editor.getByLabel('Anomaly preview', { exact: true });
  await expect(preview).toHaveCount(0);
  await editor.getByRole('radio', { name: 'Anomaly', exact: true }).check({ force: true });
  expect(await queryJSON(page)).toMatchObject({ queryType: 'anomaly', measurement: 'temperatures', fields: ['hotend'] });
  // The stand-in answers with a day of 5m windows; the t-test detector finds 2.
  await expect(preview).toHaveText('2 anomalous windows of 288 in this range');
  await expect(editor.getByLabel('Alpha', { exact: true })).toBeVisible();
  await expect(editor.getByRole('radio', { name: 'p-value' })).toHaveCount(1);
  await shot(editor, 'query-editor-anomaly-ttest');
  expect(await overlaps(editor), 'anomaly t-test editor labels').toEqual([]);

  // Seasonal: its own settings only, the t-test's outputs gone.
  await editor.getByLabel('Detector', { exact: true }).click();
  await expect(page.getByText('Holt-Winters forecast')).toBeVisible();
  await page.getByText('Seasonal', { exact: true }).click();
  expect((await queryJSON(page)).detector).toBe('seasonal');
  await expect(editor.getByLabel('Seasons', { exact: true })).toBeVisible();
  await expect(editor.getByLabel('Threshold', { exact: true })).toHaveAttribute('placeholder', '3.5');
  await expect(editor.getByLabel('Alpha', { exact: true })).toHaveCount(0);
  await expect(editor.getByLabel('History', { exact: true })).toHaveCount(0);
  await expect(editor.getByRole('radio', { name: 'p-value' })).toHaveCount(0);
  await expect(preview).toHaveText('1 anomalous window of 288 in this range');

  // A window that does not divide the season is explained beside it and not run.
  const before = await runs(page);
  await editor.getByLabel('Window', { exact: true }).fill('7m');
  await editor.getByLabel('Window', { exact: true }).blur();
  await expect(editor.getByText('The window must divide the season (1d)')).toBeVisible();
  expect(await runs(page)).toBe(before);
  await editor.getByLabel('Window', { exact: true }).fill('15m');
  await editor.getByLabel('Window', { exact: true }).blur();
  await expect(editor.getByText('The window must divide the season')).toHaveCount(0);
  expect(await runs(page)).toBe(before + 1);
  expect((await queryJSON(page)).window).toBe('15m');
  await shot(editor, 'query-editor-anomaly-seasonal');
  expect(await overlaps(editor), 'anomaly seasonal editor labels').toEqual([]);

  // Holt-Winters: the season and the optional smoothing in one row.
  await editor.getByLabel('Detector', { exact: true }).click();
  await page.getByText('Holt-Winters', { exact: true }).click();
  await expect(editor.getByLabel('Season γ', { exact: true })).toHaveAttribute('placeholder', 'fitted');
  await expect(editor.getByLabel('Seasons', { exact: true })).toHaveCount(0);
  // The three smoothing settings are fitted together: one alone is explained and not run.
  const beforeHW = await runs(page);
  await editor.getByLabel('Level α', { exact: true }).fill('0.3');
  await editor.getByLabel('Level α', { exact: true }).blur();
  await expect(editor.getByText('give hwBeta and hwGamma too')).toBeVisible();
  await shot(editor, 'query-editor-anomaly-holtwinters');
  expect(await overlaps(editor), 'anomaly holtwinters editor labels').toEqual([]);
  await editor.getByLabel('Trend β', { exact: true }).fill('0.1');
  await editor.getByLabel('Trend β', { exact: true }).blur();
  await editor.getByLabel('Season γ', { exact: true }).fill('0.2');
  await editor.getByLabel('Season γ', { exact: true }).blur();
  await expect(editor.getByText('give hwGamma too')).toHaveCount(0);
  expect(await queryJSON(page)).toMatchObject({ detector: 'holtwinters', hwAlpha: 0.3, hwBeta: 0.1, hwGamma: 0.2 });
  expect(await runs(page)).toBe(beforeHW + 1);
  await expect(preview).toHaveText('3 anomalous windows of 288 in this range');

  // MAD needs every point: no windows read mode.
  await editor.getByLabel('Detector', { exact: true }).click();
  await page.getByText('MAD', { exact: true }).click();
  await expect(editor.getByRole('radio', { name: 'points' })).toHaveCount(1);
  await expect(editor.getByRole('radio', { name: 'windows' })).toHaveCount(0);

  // A Kafka topic as the source: the kafka query's inputs, no bucket.
  await editor.getByRole('radio', { name: 'Kafka topic' }).check({ force: true });
  await expect(editor.getByLabel('Bucket', { exact: true })).toHaveCount(0);
  await editor.getByLabel('Topic', { exact: true }).fill('printer');
  await editor.getByLabel('Topic', { exact: true }).blur();
  expect(await queryJSON(page)).toMatchObject({ queryType: 'anomaly', detector: 'mad', topic: 'printer' });
  await expect(preview).toHaveText('4 anomalous windows of 288 in this range');
  await shot(editor, 'query-editor-anomaly-kafka');
  expect(await overlaps(editor), 'anomaly kafka editor labels').toEqual([]);
  expect(errors).toEqual([]);
});

test('variable query editor: list tag values', async ({ page }) => {
  const errors = await open(page);
  const editor = page.locator('#variable');
  await editor.getByRole('radio', { name: 'Tag values' }).check({ force: true });
  await editor.getByRole('textbox', { name: 'Measurement', exact: true }).fill('temperatures');
  await editor.getByRole('textbox', { name: 'Tag key', exact: true }).fill('printer');
  await editor.getByRole('textbox', { name: 'Tag key', exact: true }).blur();
  const variable = JSON.parse((await page.locator('#variable-json').textContent()) ?? '{}');
  expect(variable).toEqual({ kind: 'tagValues', measurement: 'temperatures', key: 'printer' });
  await shot(editor, 'variable-editor');
  expect(errors).toEqual([]);
});
