import { expect, test } from '@grafana/plugin-e2e';

import { DS, pageErrors, PLUGIN_ID, provisioned, shot, TOKEN } from './helpers';

// The data source config page: the provisioned data source, and a new one
// filled in by hand with the right and with a wrong token.

test('provisioned data source: Save & test reports InfluxDB healthy', async ({ gotoDataSourceConfigPage, page }) => {
  const errors = pageErrors(page);
  const { jsonData } = await provisioned(page);
  const configPage = await gotoDataSourceConfigPage(DS.uid);
  await expect(page.locator('#vigil-default-bucket')).toHaveValue(jsonData.defaultBucket);
  await expect(configPage.saveAndTest()).toBeOK();
  await expect(configPage).toHaveAlert('success', {
    hasText: `is reachable and bucket "${jsonData.defaultBucket}" can be read`,
  });
  await shot(page, 'datasource-provisioned');
  expect(errors).toEqual([]);
});

for (const { name, token, ok, message } of [
  { name: 'the right token', token: TOKEN, ok: true, message: /InfluxDB .* is reachable and bucket ".*" can be read/ },
  { name: 'a wrong token', token: 'vigil:not-the-password', ok: false, message: /InfluxDB refused the token \(HTTP 401/ },
]) {
  test(`new data source with ${name}: Save & test says so`, async ({ createDataSourceConfigPage, page }) => {
    const errors = pageErrors(page);
    const { url, jsonData } = await provisioned(page);
    const configPage = await createDataSourceConfigPage({ type: PLUGIN_ID });
    await page.locator('#vigil-url').fill(url);
    await page.locator('#vigil-default-bucket').fill(jsonData.defaultBucket);
    await page.locator('#vigil-token').fill(token);
    const result = configPage.saveAndTest();
    await (ok ? expect(result).toBeOK() : expect(result).not.toBeOK());
    await expect(configPage).toHaveAlert(ok ? 'success' : 'error', { hasText: message });
    // The token is a secret: never shown back, not even in an error.
    await expect(page.getByText('not-the-password')).toHaveCount(0);
    await shot(page, `datasource-${ok ? 'new' : 'wrong-token'}`);
    expect(errors).toEqual([]);
  });
}
