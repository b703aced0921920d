// Renders dashboard panels on the harness page and checks them for content:
// no page or console errors, no "No data" where rows are expected, the
// series the legend must list, canvas pixels of each series' colour where
// its values are, and log axes ticked at powers of ten. Used by
// panels.spec.ts (VIGIL_PANELS_JSON) and pvalue-axis.spec.ts.
import { expect, Page } from '@playwright/test';
import fs from 'fs';
import path from 'path';

import type { PanelInput, PanelsInput, PlotReport } from './harness/panelTypes';

/** Reads and checks the panels file named by VIGIL_PANELS_JSON; throws (fails the run) when missing or empty. */
export function loadPanels(file: string | undefined): PanelsInput {
  if (!file) {
    throw new Error('VIGIL_PANELS_JSON is not set: name a panels JSON file (see playwright/harness/panelTypes.ts)');
  }
  if (!fs.existsSync(file)) {
    throw new Error(`VIGIL_PANELS_JSON names ${file}, which does not exist`);
  }
  const input = JSON.parse(fs.readFileSync(file, 'utf8')) as PanelsInput;
  if (!Array.isArray(input?.panels) || input.panels.length === 0) {
    throw new Error(`${file} holds no panels`);
  }
  input.panels.forEach((p, i) => {
    if (!p.title || !p.type || !Array.isArray(p.frames)) {
      throw new Error(`${file}: panel ${i} needs title, type and frames`);
    }
  });
  return input;
}

const rowsOf = (p: PanelInput) => p.frames.reduce((n, f) => n + (f.data?.values?.[0]?.length ?? 0), 0);

/** Opens the harness with the given panels; returns the errors the page reports. */
export async function openPanels(page: Page, panels: PanelInput[]) {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    // Grafana serves its Inter font files itself; @grafana/ui does not ship them,
    // so the harness lets them 404 and the text falls back to a system font.
    if (m.type() === 'error' && !/\/public\/fonts\//.test(m.location().url ?? '')) {
      errors.push(`console error: ${m.text()} ${m.location().url ?? ''}`.trim());
    }
  });
  await page.addInitScript((input) => {
    window.vigilPanels = input;
  }, { panels } as PanelsInput);
  // 'commit': a plot that hangs the page must fail the wait below with a message, not the navigation.
  await page.goto(process.env.HARNESS_URL!, { waitUntil: 'commit' });
  return errors;
}

// A panel is done when it drew, or shows a message or a table.
async function settled(page: Page, index: number, type: string) {
  await page.waitForFunction(
    ({ index, type }) => {
      const el = document.querySelector(`[data-panel="${index}"]`);
      if (!el) {
        return false;
      }
      if (el.querySelector('.panel-message, .panel-error')) {
        return true;
      }
      if (type === 'table') {
        return el.querySelectorAll('[role="row"]').length > 0;
      }
      return (window.vigilPlots?.[index]?.draws ?? 0) > 0;
    },
    { index, type },
    { timeout: 15_000, polling: 200 }
  );
}

// Distance between two colours (0-255 RGB), ignoring alpha.
const dist = (a: number[], b: number[]) => Math.hypot(a[0] - b[0], a[1] - b[1], a[2] - b[2]);

function parseColor(css: string): number[] {
  const hex = /^#([0-9a-f]{6})/i.exec(css);
  if (hex) {
    const n = parseInt(hex[1], 16);
    return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
  }
  const rgb = /rgba?\(([^)]+)\)/.exec(css);
  if (rgb) {
    return rgb[1].split(',').slice(0, 3).map((x) => Number(x.trim()));
  }
  throw new Error(`unexpected series colour ${css}`);
}

/** For each series: how many of its values lie in the plotting area and how many of those show its colour on the canvas. */
async function samplePixels(page: Page, index: number, plot: PlotReport) {
  return page.evaluate(
    ({ index, plot }) => {
      const canvas = document.querySelector(`[data-panel="${index}"] canvas`) as HTMLCanvasElement | null;
      if (!canvas) {
        return null;
      }
      const ctx = canvas.getContext('2d')!;
      const { left, top, width, height } = plot.bbox;
      const inArea = (p: [number, number] | null): p is [number, number] => !!p && p[0] >= left && p[0] <= left + width && p[1] >= top && p[1] <= top + height;
      return plot.series.map((s, si) => {
        const inside = s.points.filter(inArea);
        // A value under one of a later-drawn series is painted over: not sampled.
        const later = plot.series.slice(si + 1).flatMap((o) => o.points.filter(inArea));
        const visible = inside.filter(([x, y]) => !later.some(([ox, oy]) => Math.abs(ox - x) < 4 && Math.abs(oy - y) < 4));
        // The pixels around each value (lines are anti-aliased), as RGB triples.
        const around = visible.map(([x, y]) => {
          const d = ctx.getImageData(Math.round(x) - 2, Math.round(y) - 2, 5, 5).data;
          const px: number[][] = [];
          for (let i = 0; i < d.length; i += 4) {
            px.push([d[i], d[i + 1], d[i + 2]]);
          }
          return px;
        });
        return { label: s.label, stroke: s.stroke, values: s.points.length, placed: s.points.filter((p) => !!p).length, inside: inside.length, visible: visible.length, around };
      });
    },
    { index, plot }
  );
}

const isPowerOfTen = (v: number) => v > 0 && Math.abs(Math.log10(v) - Math.round(Math.log10(v))) < 1e-9;

/** Renders nothing itself: checks panel `index` of the open page and saves its screenshot. */
export async function checkPanel(page: Page, panel: PanelInput, index: number, errors: string[], shotName: string) {
  const loc = page.locator(`[data-panel="${index}"]`);
  try {
    await settled(page, index, panel.type);
  } catch {
    throw new Error(`panel "${panel.title}" did not finish rendering within 15 s (the page hung or threw); ${errors.join('; ') || 'no error reported'}`);
  }
  fs.mkdirSync('test-results/panels', { recursive: true });
  await loc.screenshot({ path: path.join('test-results/panels', `${shotName}.png`) });

  expect(errors, 'page and console errors').toEqual([]);
  await expect(loc.locator('.panel-error'), 'panel error').toHaveCount(0);
  const minRows = panel.expect?.minRows ?? 0;
  if (minRows > 0) {
    await expect(loc.getByText('No data'), `"No data" on a panel expecting ${minRows} rows`).toHaveCount(0);
    await expect(loc.locator('.panel-message'), 'panel message').toHaveCount(0);
    expect(rowsOf(panel), 'rows in the frames given').toBeGreaterThanOrEqual(minRows);
  }

  if (panel.type === 'table') {
    for (const name of panel.expect?.series ?? []) {
      await expect(loc.getByRole('columnheader', { name }), `column ${name}`).toBeVisible();
    }
    // The header row is a row too.
    expect(await loc.getByRole('row').count(), 'table rows').toBeGreaterThanOrEqual(minRows + 1);
    return;
  }
  if (minRows === 0) {
    return;
  }

  // The legend lists the series.
  for (const name of panel.expect?.series ?? []) {
    await expect(loc.locator('.panel-body').getByText(name, { exact: true }).first(), `legend entry ${name}`).toBeVisible();
  }

  const plot = await page.evaluate((i) => window.vigilPlots?.[i], index);
  expect(plot, 'draw report').toBeTruthy();
  const samples = await samplePixels(page, index, plot!);
  expect(samples, 'plot canvas').toBeTruthy();
  let shown = 0;
  for (const s of samples!) {
    const want = parseColor(s.stroke);
    const coloured = s.around.filter((px) => px.some((c) => dist(c, want) < 60)).length;
    const why = `series ${s.label}: ${s.values} values, ${s.placed} placed on the axes, ${s.inside} inside the plot area, ${s.visible} not under a later series, ${coloured} of those with ${s.stroke} pixels`;
    if (panel.expect?.series && !panel.expect.series.includes(s.label)) {
      continue;
    }
    expect(s.inside, `${why}: nothing of it is plotted`).toBeGreaterThan(0);
    // Anti-aliasing may blend a few isolated points into the background; most must show.
    expect(coloured, `${why}: the canvas lacks the series colour where its values are`).toBeGreaterThanOrEqual(Math.ceil(s.visible / 2));
    shown += coloured;
  }
  expect(shown, 'values drawn in their series colour, all series').toBeGreaterThan(0);
  for (const name of panel.expect?.series ?? []) {
    expect(samples!.map((s) => s.label), 'plotted series').toContain(name);
  }

  // A log axis: a finite range and ticks labelled at powers of ten only.
  if (plot!.y?.distr === 3) {
    const { min, max, splits, values } = plot!.y;
    expect(Number.isFinite(min) && Number.isFinite(max) && min > 0 && max > min, `log axis range [${min}, ${max}]`).toBe(true);
    const labelled = splits.map((v, i) => ({ v, label: values[i] })).filter((t) => t.label && t.label !== 'null');
    expect(labelled.length, 'labelled log ticks').toBeGreaterThanOrEqual(2);
    for (const t of labelled) {
      expect(isPowerOfTen(t.v), `log tick ${t.label} at ${t.v} is not a power of ten`).toBe(true);
      expect(Math.abs(parseFloat(t.label) / t.v - 1), `log tick label ${t.label} for ${t.v}`).toBeLessThan(1e-9);
    }
  }
}
