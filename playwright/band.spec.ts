import { expect, test } from '@playwright/test';
import fs from 'fs';
import path from 'path';

import type { PanelInput } from './harness/panelTypes';
import { checkPanel, openPanels } from './panelChecks';

// The provisioned band panels (the anomaly query's band output: value, expected, lower, upper, the band drawn with
// Grafana's fillBelowTo) render with @grafana/ui from frames shaped as Vigil returns them (pkg/frames Anomaly), and
// the band checks of panelChecks.ts catch the ways such a panel goes wrong: a fill without its fillBelowTo partner
// (it reaches down to the axis), no fill at all, and means drawn outside the band.
type Panel = PanelInput & { targets: Array<{ output?: string; fields?: string[] }> };
const bandPanels = ['printer.json', 'house.json'].flatMap((file) => {
  const d = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'dashboards', file), 'utf8'));
  return (d.panels as Panel[]).filter((p) => p.targets?.[0]?.output === 'band').map((p) => ({ dashboard: d.uid as string, panel: p }));
});

const T0 = Date.UTC(2016, 0, 1);
const N = 1500;
const columns = ['value', 'expected', 'lower', 'upper'] as const;

// One series' band frame: a baseline that steps, a band of +-2, means inside it (seeded, deterministic) but for
// windows 700-720 (an anomaly); shift moves every mean by that much.
function bandFrame(series: string, shift = 0) {
  const times = Array.from({ length: N }, (_, i) => T0 + (i + 1) * 2000);
  const expected = times.map((_, i) => 100 + 0.5 * (Math.floor(i / 300) % 3));
  let seed = 7;
  const noise = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648 - 0.5) * 1.2;
  const value = expected.map((e, i) => (i >= 700 && i < 720 ? e - 4 : e + noise()) + shift);
  const values = { value, expected, lower: expected.map((e) => e - 2), upper: expected.map((e) => e + 2) };
  return {
    schema: {
      meta: { type: 'timeseries-multi', typeVersion: [0, 1] },
      fields: [
        { name: 'Time', type: 'time', typeInfo: { frame: 'time.Time' } },
        ...columns.map((c) => ({ name: c, type: 'number', typeInfo: { frame: 'float64' }, labels: { field: series }, config: { displayNameFromDS: `${series} ${c}` } })),
      ],
    },
    data: { values: [times, ...columns.map((c) => values[c])] },
  } as unknown as PanelInput['frames'][number];
}

function asInput(dashboard: string, p: Panel, shift = 0): PanelInput {
  const series = p.targets[0].fields![0];
  const names = columns.map((c) => `${series} ${c}`);
  return {
    dashboard,
    title: p.title,
    type: p.type,
    fieldConfig: structuredClone(p.fieldConfig),
    options: p.options,
    frames: [bandFrame(series, shift)],
    expect: { series: names, minRows: N, bands: [{ value: names[0], expected: names[1], lower: names[2], upper: names[3] }] },
  };
}

// The upper edge's override without the given properties.
function withoutUpper(input: PanelInput, ids: string[]): PanelInput {
  const upper = input.expect!.bands![0].upper;
  for (const o of input.fieldConfig!.overrides!) {
    if (o.matcher.options === upper) {
      o.properties = o.properties.filter((p) => !ids.includes(p.id));
    }
  }
  return input;
}

const shot = (s: string) => `band-${s.replace(/\W+/g, '-')}`;

test('the dashboards have band panels', () => {
  expect(bandPanels.length).toBeGreaterThanOrEqual(4);
});

for (const { dashboard, panel } of bandPanels) {
  test(`${panel.title}: the band is filled between its edges, the means inside`, async ({ page }) => {
    const input = asInput(dashboard, panel);
    const errors = await openPanels(page, [input]);
    await checkPanel(page, input, 0, errors, shot(panel.title));
  });
}

const first = bandPanels[0];
const broken: Array<[string, () => PanelInput, RegExp]> = [
  ['without fillBelowTo the fill reaches the axis', () => withoutUpper(asInput(first.dashboard, first.panel), ['custom.fillBelowTo']), /the fill reaches outside the edges/],
  ['without the fill the band is empty', () => withoutUpper(asInput(first.dashboard, first.panel), ['custom.fillBelowTo', 'custom.fillOpacity']), /the fill is missing between the edges/],
  ['means off the band are caught', () => asInput(first.dashboard, first.panel, 6), /the window means are not drawn inside the band/],
];
for (const [name, input, want] of broken) {
  test(`${first.panel.title}: ${name}`, async ({ page }) => {
    const errors = await openPanels(page, [input()]);
    await expect(checkPanel(page, input(), 0, errors, shot(`${first.panel.title}-${name}`))).rejects.toThrow(want);
  });
}
