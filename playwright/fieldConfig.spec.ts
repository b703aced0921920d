import { expect, test } from '@playwright/test';

import './harness/panelTypes';

// The harness applies a provisioned panel's fieldConfig as Grafana does:
// panel-type defaults under the dashboard's values, then defaults and overrides
// (playwright/harness/fieldConfig.ts, run in the harness page: @grafana/data
// needs a browser).
const frames = [
  {
    fields: [
      { name: 'Time', type: 'time', values: [1, 2] },
      { name: 'hotend', type: 'number', values: [0.5, 1e-21] },
      { name: 'bed', type: 'number', values: [0.2, 0.3] },
    ],
  },
];
const byName = (name: string, properties: Array<{ id: string; value: unknown }>) => ({ matcher: { id: 'byName', options: name }, properties });

const cases: Array<{ name: string; type: string; fieldConfig: object; field: string; want: Record<string, unknown> }> = [
  {
    name: 'time series defaults fill what the panel leaves out',
    type: 'timeseries',
    fieldConfig: { defaults: { unit: 'sci' }, overrides: [] },
    field: 'hotend',
    want: { unit: 'sci', 'color.mode': 'palette-classic', 'custom.drawStyle': 'line', 'custom.scaleDistribution.type': 'linear' },
  },
  {
    name: 'the panel wins over the defaults, deep inside custom too',
    type: 'timeseries',
    fieldConfig: { defaults: { min: 1e-8, custom: { scaleDistribution: { type: 'log', log: 10 }, lineWidth: 2 } }, overrides: [] },
    field: 'hotend',
    want: { min: 1e-8, 'custom.scaleDistribution.log': 10, 'custom.scaleDistribution.type': 'log', 'custom.lineWidth': 2, 'custom.showPoints': 'auto' },
  },
  {
    name: 'a null base threshold reads as -Infinity',
    type: 'timeseries',
    fieldConfig: { defaults: { thresholds: { mode: 'absolute', steps: [{ color: 'red', value: null }, { color: 'green', value: 0.001 }] } }, overrides: [] },
    field: 'bed',
    want: { 'thresholds.steps.0.value': -Infinity, 'thresholds.steps.1.value': 0.001 },
  },
  {
    name: 'an override applies to its field only',
    type: 'timeseries',
    fieldConfig: { defaults: { unit: 'celsius' }, overrides: [byName('bed', [{ id: 'unit', value: 'percentunit' }, { id: 'custom.axisSoftMin', value: 0 }])] },
    field: 'bed',
    want: { unit: 'percentunit', 'custom.axisSoftMin': 0 },
  },
  {
    name: 'the override leaves the other field alone',
    type: 'timeseries',
    fieldConfig: { defaults: { unit: 'celsius' }, overrides: [byName('bed', [{ id: 'unit', value: 'percentunit' }])] },
    field: 'hotend',
    want: { unit: 'celsius', 'custom.axisSoftMin': undefined },
  },
  {
    name: 'table defaults colour by thresholds',
    type: 'table',
    fieldConfig: { defaults: {}, overrides: [] },
    field: 'bed',
    want: { 'color.mode': 'thresholds', 'custom.align': 'auto' },
  },
];

const at = (o: unknown, path: string) => path.split('.').reduce<unknown>((v, k) => (v as Record<string, unknown> | undefined)?.[k], o);

// One page for the whole table (the harness takes seconds to load); a step per case.
test('field config applied as Grafana applies it', async ({ page }) => {
  await page.goto(process.env.HARNESS_URL!);
  await page.waitForFunction(() => !!window.vigilApplyFieldConfig);
  for (const c of cases) {
    await test.step(c.name, async () => {
      const [fields] = await page.evaluate(({ type, fieldConfig, frames }) => window.vigilApplyFieldConfig!(type, fieldConfig, frames), {
        type: c.type,
        fieldConfig: c.fieldConfig,
        frames,
      });
      const field = fields.find((f) => f.name === c.field)!;
      for (const [path, value] of Object.entries(c.want)) {
        expect.soft(at(field.config, path), `${c.name}: ${path}`).toEqual(value);
      }
    });
  }
});
