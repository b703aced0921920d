import { test } from '@playwright/test';
import fs from 'fs';
import path from 'path';

import type { PanelInput } from './harness/panelTypes';
import { checkPanel, openPanels } from './panelChecks';

// Grafana 10.0's uPlot log axis threw on p-values below ~1e-15, so the
// provisioned p-value panels set a hard axis min of 1e-8. @grafana/ui 12.4.10
// (uPlot 1.6.32) still breaks without it, differently: a value below about
// 1e-30 makes logAxisSplits step through the decades with an increment of
// 1e-32 (the smallest in uPlot's table), the page freezes for ~50 s and then
// throws "RangeError: Invalid array length"; 1e-21 still renders. These
// cases render the dashboard's own log-axis panels (read from
// dashboards/printer.json) with the p-values Vigil returns for strong
// anomalies, and show that the checks catch the panel without its min.
const dashboard = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'dashboards', 'printer.json'), 'utf8'));
const logPanels = (dashboard.panels as Array<PanelInput & { fieldConfig: { defaults: { custom?: { scaleDistribution?: { type?: string } } } } }>).filter(
  (p) => p.fieldConfig?.defaults?.custom?.scaleDistribution?.type === 'log'
);

const T0 = Date.UTC(2016, 0, 1);
const N = 48;
// One p-value series as Vigil's ttest frames carry it (pkg/frames/testdata/ttest-pvalue.jsonc).
function pvalueFrame(field: string, special: Record<number, number>, seed = 0) {
  const times = Array.from({ length: N }, (_, i) => T0 + (i + 1) * 300_000);
  const values = times.map((_, i) => special[i] ?? 0.05 + ((i * 37 + seed * 29) % 90) / 100);
  return {
    schema: {
      meta: { type: 'timeseries-multi', typeVersion: [0, 1] },
      fields: [
        { name: 'Time', type: 'time', typeInfo: { frame: 'time.Time' } },
        { name: 'pvalue', type: 'number', typeInfo: { frame: 'float64' }, labels: { field }, config: { displayNameFromDS: field } },
      ],
    },
    data: { values: [times, values] },
  } as unknown as PanelInput['frames'][number];
}

// Strong anomalies: far below 1e-15, below the smallest normal double's neighbourhood, and exactly 0 (t = ±Inf).
const extreme = [pvalueFrame('hotend', { 12: 1e-21 }, 0), pvalueFrame('bed', { 20: 1e-200, 21: 5e-324 }, 1), pvalueFrame('air', { 30: 0 }, 2)];

function asInput(p: PanelInput, frames: PanelInput['frames'], title = p.title): PanelInput {
  return { dashboard: dashboard.uid, title, type: p.type, fieldConfig: p.fieldConfig, options: p.options, frames, expect: { series: ['hotend', 'bed', 'air'], minRows: N } };
}

function withoutMin(p: PanelInput): PanelInput {
  const fieldConfig = structuredClone(p.fieldConfig!);
  delete fieldConfig.defaults!.min;
  return { ...p, fieldConfig };
}

test('the dashboard has log-axis p-value panels', () => {
  test.expect(logPanels.length).toBeGreaterThan(0);
});

for (const panel of logPanels) {
  test(`${panel.title}: p-values 1e-21, 1e-200, 5e-324 and 0 render on the provisioned log axis`, async ({ page }) => {
    const input = asInput(panel, extreme);
    const errors = await openPanels(page, [input]);
    await checkPanel(page, input, 0, errors, `pvalue-axis-${panel.title.replace(/\W+/g, '-')}`);
  });

  // One panel is enough to show it (each hang costs ~30 s).
  if (panel !== logPanels[0]) {
    continue;
  }
  test(`${panel.title}: the checks catch the same panel without its axis min`, async ({ page }) => {
    // Expected to fail: the page hangs in uPlot's log splits, then throws.
    test.fail();
    const input = withoutMin(asInput(panel, extreme));
    const errors = await openPanels(page, [input]);
    await checkPanel(page, input, 0, errors, `pvalue-axis-nomin-${panel.title.replace(/\W+/g, '-')}`);
  });
}

// The nearest failure left with the provisioned config: when every p-value in
// the range is 0 (or below the axis min), the log axis has nothing it can
// place; @grafana/ui draws an empty plot (or a 1-100 axis) without saying why.
for (const [name, value] of [
  ['all p-values 0', 0],
  ['all p-values below the axis min', 1e-21],
] as const) {
  test(`${logPanels[0]?.title}: ${name} plot nothing (known limitation; the checks catch it)`, async ({ page }) => {
    test.fail();
    const all = Object.fromEntries(Array.from({ length: N }, (_, i) => [i, value]));
    const input = { ...asInput(logPanels[0], [pvalueFrame('hotend', all)]), expect: { series: ['hotend'], minRows: N } };
    const errors = await openPanels(page, [input]);
    await checkPanel(page, input, 0, errors, `pvalue-axis-${name.replace(/\W+/g, '-')}`);
  });
}
