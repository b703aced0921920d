import { expect, test } from '@grafana/plugin-e2e';

import { pageErrors, shot } from './helpers';

// The provisioned alert rules (provisioning/alerting) in Grafana's alerting UI.
const RULES = [
  { file: 'printer.yaml', title: 'Printer hotend anomaly', field: 'hotend' },
  { file: 'printer.yaml', title: 'Printer bed anomaly', field: 'bed' },
  { file: 'printer.yaml', title: 'Printer air anomaly', field: 'air' },
  { file: 'house.yaml', title: 'Power consumption', field: 'Unmetered energy' },
];

test('the alert rules page lists the provisioned Vigil rules', async ({ readProvisionedAlertRule, page }) => {
  const errors = pageErrors(page);
  await page.goto('/alerting/list?view=list');
  // The rules are in the folder "Vigil": open it.
  await page.getByText('Vigil', { exact: true }).click();
  for (const { file, title } of RULES) {
    const { uid } = await readProvisionedAlertRule({ fileName: file, ruleTitle: title });
    await expect(page.getByText(title, { exact: true })).toBeVisible();
    await expect(page.locator(`a[href*="/alerting/grafana/${uid}/view"]`)).toBeVisible();
  }
  await shot(page, 'alert-rules');
  expect(errors).toEqual([]);
});

for (const { file, title, field } of RULES) {
  test(`rule "${title}": its preview shows Vigil's query result`, async ({ readProvisionedAlertRule, gotoAlertRuleEditPage, page }) => {
    const errors = pageErrors(page);
    const rule = await readProvisionedAlertRule({ fileName: file, ruleTitle: title });
    const editPage = await gotoAlertRuleEditPage({ uid: rule.uid });
    await expect(editPage.evaluate()).toBeOK();
    // Query A's preview draws its series; the condition reports its state.
    const legend = `VizLegend series ${field}`;
    await expect(page.locator(`[aria-label="${legend}"], [data-testid="data-testid ${legend}"]`).first()).toBeVisible();
    await expect(page.getByText(/\d+ firing, \d+ normal/).first()).toBeVisible();
    await shot(page, `alert-rule-${rule.uid}`);
    expect(errors).toEqual([]);
  });
}
