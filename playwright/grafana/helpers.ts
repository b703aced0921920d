import { ConsoleMessage, expect, Locator, Page } from '@playwright/test';
import fs from 'fs';

import plugin from '../../plugin.json';

/** Vigil's plugin id (plugin.json is the one source of it). */
export const PLUGIN_ID = plugin.id;

/** The provisioned data source (provisioning/datasources/vigil.yaml). */
export const DS = { uid: 'vigil', name: 'Vigil' };

/** The InfluxDB token of the local and the docker-compose InfluxDB. */
export const TOKEN = process.env.VIGIL_INFLUXDB_TOKEN ?? 'vigil:vigil-local-password';

/** A data frame as Grafana's JSON carries it: a time and a value field. */
export interface Frame {
  schema: { fields: Array<{ labels?: Record<string, string> }> };
  data: { values: [number[], Array<number | null>] };
}

// Console errors that are Vigil's: logged from its module, naming the plugin,
// or React reporting a component that threw. Grafana's own console noise
// (aborted fetches when a test navigates away, HTTP statuses the specs check
// themselves) is not Vigil's and varies from run to run.
function isVigils(m: ConsoleMessage): boolean {
  return (
    m.location().url.includes(`/plugins/${PLUGIN_ID}/`) ||
    m.text().includes(PLUGIN_ID) ||
    /The above error occurred in/.test(m.text())
  );
}

/** Collects the page's uncaught errors and Vigil's console errors: there must be none. */
export function pageErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => {
    if (m.type() === 'error' && isVigils(m)) {
      errors.push(`console: ${m.text()}`);
    }
  });
  return errors;
}

/**
 * Saves a screenshot as a test artifact and checks it has rendered content:
 * a blank or unstyled page compresses to a few KB.
 */
export async function shot(target: Page | Locator, name: string, minBytes = 30_000) {
  const file = `test-results/grafana/${name}.png`;
  await target.screenshot({ path: file, ...('goto' in target ? { fullPage: true } : {}) });
  expect(fs.statSync(file).size, `${file} looks blank`).toBeGreaterThan(minBytes);
}

/** The provisioned data source's settings, as Grafana's API returns them. */
export async function provisioned(page: Page): Promise<{ url: string; jsonData: { defaultBucket: string } }> {
  const res = await page.request.get(`/api/datasources/uid/${DS.uid}`);
  expect(res.ok()).toBeTruthy();
  return res.json();
}

/** Picks an option of a @grafana/ui Select or MultiSelect by its text. */
export async function pick(page: Page, select: Locator, option: string) {
  await select.click();
  await page.getByLabel('Select options menu').getByText(option, { exact: true }).click();
}
