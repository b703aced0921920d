// Renders dashboard panels on the harness page and checks them for content:
// no page or console errors, no "No data" where rows are expected, the
// series the legend must list, canvas pixels of each series' colour where
// its values are, and log axes ticked at powers of ten. Used by
// panels.spec.ts (VIGIL_PANELS_JSON) and pvalue-axis.spec.ts.
import { expect, Page } from '@playwright/test';
import fs from 'fs';
import path from 'path';

import type { PanelInput, PanelsInput } from './harness/panelTypes';

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

/** What samplePixels found for one series. */
interface SeriesSample {
  label: string;
  stroke: string;
  values: number;
  placed: number;
  inside: number;
  visible: number;
  /** Visible values with a pixel of the series' colour within 2 px. */
  coloured: number;
}

/** What bandPixels found for one band (canvas pixels, in the columns of the band's own windows). */
export interface BandSample {
  /** Windows where lower and upper are both placed inside the plot, at least 8 px apart. */
  columns: number;
  /** The pixels between the edges (2 px in from each), those tinted with the band's fill, and those left empty. */
  interior: number;
  interiorTinted: number;
  interiorEmpty: number;
  /** Pixels 6 px outside the band (above upper, below lower, inside the plot) sampled, and of those tinted. */
  outside: number;
  outsideTinted: number;
  /** Values (and expected values) placed where the band is, and of those drawn between its edges (1 px slack). */
  values: number;
  valuesInside: number;
  expected: number;
  expectedInside: number;
}

/**
 * For each series: how many of its values lie in the plotting area and how many of those show its colour on the
 * canvas. Runs in the page (the canvas read once; a value under a later-drawn series found through a 4 px grid),
 * so panels with tens of thousands of values stay fast; the per-value cost is constant.
 */
async function samplePixels(page: Page, index: number) {
  return page.evaluate(
    (index) => {
      const canvas = document.querySelector(`[data-panel="${index}"] canvas`) as HTMLCanvasElement | null;
      const plot = window.vigilPlots?.[index];
      if (!canvas || !plot) {
        return null;
      }
      const img = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height);
      const rgbAt = (x: number, y: number) => {
        const i = (y * img.width + x) * 4;
        return [img.data[i], img.data[i + 1], img.data[i + 2]];
      };
      const { left, top, width, height } = plot.bbox;
      const inArea = (p: [number, number] | null): p is [number, number] => !!p && p[0] >= left && p[0] <= left + width && p[1] >= top && p[1] <= top + height;
      const cell = (x: number, y: number) => `${Math.floor(x / 4)},${Math.floor(y / 4)}`;
      const parse = (css: string) => {
        const hex = /^#([0-9a-f]{6})/i.exec(css);
        if (hex) {
          const n = parseInt(hex[1], 16);
          return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
        }
        const rgb = /rgba?\(([^)]+)\)/.exec(css);
        return rgb ? rgb[1].split(',').slice(0, 3).map((x) => Number(x.trim())) : [NaN, NaN, NaN];
      };
      // Points of the series drawn after each one, by 4 px cell.
      const laterCells: Array<Map<string, Array<[number, number]>>> = plot.series.map(() => new Map());
      const acc = new Map<string, Array<[number, number]>>();
      for (let si = plot.series.length - 1; si >= 0; si--) {
        laterCells[si] = new Map([...acc].map(([k, v]) => [k, v.slice()]));
        for (const p of plot.series[si].points.filter(inArea)) {
          const k = cell(p[0], p[1]);
          const list = acc.get(k);
          if (list) {
            list.push(p);
          } else {
            acc.set(k, [p]);
          }
        }
      }
      return plot.series.map((s, si) => {
        const want = parse(s.stroke);
        const inside = s.points.filter(inArea);
        // A value under one of a later-drawn series is painted over: not sampled.
        const covered = ([x, y]: [number, number]) => {
          for (let dx = -1; dx <= 1; dx++) {
            for (let dy = -1; dy <= 1; dy++) {
              const near = laterCells[si].get(`${Math.floor(x / 4) + dx},${Math.floor(y / 4) + dy}`) ?? [];
              if (near.some(([ox, oy]) => Math.abs(ox - x) < 4 && Math.abs(oy - y) < 4)) {
                return true;
              }
            }
          }
          return false;
        };
        const visible = inside.filter((p) => !covered(p));
        // The pixels around each value (lines are anti-aliased).
        const coloured = visible.filter(([x, y]) => {
          for (let dy = -2; dy <= 2; dy++) {
            for (let dx = -2; dx <= 2; dx++) {
              const px = Math.round(x) + dx;
              const py = Math.round(y) + dy;
              if (px >= 0 && py >= 0 && px < img.width && py < img.height) {
                const c = rgbAt(px, py);
                if (Math.hypot(c[0] - want[0], c[1] - want[1], c[2] - want[2]) < 60) {
                  return true;
                }
              }
            }
          }
          return false;
        }).length;
        return { label: s.label, stroke: s.stroke, values: s.points.length, placed: s.points.filter((p) => !!p).length, inside: inside.length, visible: visible.length, coloured };
      });
    },
    index
  ) as Promise<SeriesSample[] | null>;
}

/**
 * Reads a band (Grafana's fill between two series: fillBelowTo on upper naming lower) off the canvas, in the
 * column of each window where both edges are placed at least 8 px apart. Between the edges the canvas must hold the
 * fill (upper's colour, translucent: alpha below 255 where no opaque line is drawn over it) and nothing may be left
 * empty; 6 px outside the edges there must be no fill (a fill without its partner series reaches the axis). The value
 * and expected lines must be drawn between the edges.
 */
export async function bandPixels(page: Page, index: number, band: { value: string; expected: string; lower: string; upper: string }) {
  return page.evaluate(
    ({ index, band }) => {
      const canvas = document.querySelector(`[data-panel="${index}"] canvas`) as HTMLCanvasElement | null;
      const plot = window.vigilPlots?.[index];
      if (!plot) {
        return null;
      }
      const find = (label: string) => plot.series.find((s) => s.label === label);
      const [upper, lower, value, expected] = [find(band.upper), find(band.lower), find(band.value), find(band.expected)];
      if (!canvas || !upper || !lower || !value || !expected) {
        return null;
      }
      const img = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height);
      const hex = /^#([0-9a-f]{6})/i.exec(upper.stroke);
      const rgb = /rgba?\(([^)]+)\)/.exec(upper.stroke);
      const n = hex ? parseInt(hex[1], 16) : 0;
      const fill = hex ? [(n >> 16) & 255, (n >> 8) & 255, n & 255] : rgb ? rgb[1].split(',').slice(0, 3).map((x) => Number(x.trim())) : [NaN, NaN, NaN];
      const { left, top, width, height } = plot.bbox;
      const inPlot = (x: number, y: number) => x >= left && x <= left + width && y >= top && y <= top + height;
      const alpha = (x: number, y: number) => img.data[(Math.round(y) * img.width + Math.round(x)) * 4 + 3];
      const tinted = (x: number, y: number) => {
        const i = (Math.round(y) * img.width + Math.round(x)) * 4;
        const d = img.data;
        return d[i + 3] > 0 && d[i + 3] < 255 && Math.hypot(d[i] - fill[0], d[i + 1] - fill[1], d[i + 2] - fill[2]) < 60;
      };
      const out = { columns: 0, interior: 0, interiorTinted: 0, interiorEmpty: 0, outside: 0, outsideTinted: 0, values: 0, valuesInside: 0, expected: 0, expectedInside: 0 };
      upper.points.forEach((u, j) => {
        const l = lower.points[j];
        if (!u || !l || !inPlot(u[0], u[1]) || !inPlot(l[0], l[1])) {
          return;
        }
        const [x, yu] = u;
        const yl = l[1];
        const between = (p: [number, number] | null) => !!p && p[1] >= yu - 1 && p[1] <= yl + 1;
        if (value.points[j]) {
          out.values++;
          out.valuesInside += between(value.points[j]) ? 1 : 0;
        }
        if (expected.points[j]) {
          out.expected++;
          out.expectedInside += between(expected.points[j]) ? 1 : 0;
        }
        if (yl - yu < 8) {
          return;
        }
        out.columns++;
        for (let y = Math.ceil(yu + 2); y <= Math.floor(yl - 2); y++) {
          out.interior++;
          out.interiorTinted += tinted(x, y) ? 1 : 0;
          out.interiorEmpty += alpha(x, y) === 0 ? 1 : 0;
        }
        for (const y of [yu - 6, yl + 6]) {
          if (inPlot(x, y)) {
            out.outside++;
            out.outsideTinted += tinted(x, y) ? 1 : 0;
          }
        }
      });
      return out;
    },
    { index, band }
  ) as Promise<BandSample | null>;
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

  // The draw report without its points (tens of thousands of them take seconds to pass out of the page; the
  // pixel checks read them in the page).
  const plot = await page.evaluate((i) => {
    const p = window.vigilPlots?.[i];
    return p && { ...p, series: [] };
  }, index);
  expect(plot, 'draw report').toBeTruthy();
  const samples = await samplePixels(page, index);
  expect(samples, 'plot canvas').toBeTruthy();
  // A band's edges are drawn as its fill (no line of their own): bandPixels checks them below.
  const edges = new Set((panel.expect?.bands ?? []).flatMap((b) => [b.lower, b.upper]));
  let shown = 0;
  for (const s of samples!) {
    const coloured = s.coloured;
    const why = `series ${s.label}: ${s.values} values, ${s.placed} placed on the axes, ${s.inside} inside the plot area, ${s.visible} not under a later series, ${coloured} of those with ${s.stroke} pixels`;
    if ((panel.expect?.series && !panel.expect.series.includes(s.label)) || edges.has(s.label)) {
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

  for (const band of panel.expect?.bands ?? []) {
    const b = await bandPixels(page, index, band);
    expect(b, `band ${band.lower} to ${band.upper}: its series are plotted`).toBeTruthy();
    const why = `band ${band.lower} to ${band.upper}: ${JSON.stringify(b)}`;
    // The band is drawn: the fill between the edges, nothing left empty there...
    expect(b!.columns, `${why}: no window wide enough to read the fill`).toBeGreaterThan(0);
    expect(b!.interiorEmpty, `${why}: the fill is missing between the edges`).toBeLessThanOrEqual(Math.floor(0.02 * b!.interior));
    expect(b!.interiorTinted, `${why}: the band's colour is missing between the edges`).toBeGreaterThanOrEqual(Math.ceil(0.2 * b!.interior));
    // ...and only there (not down to the axis, as a fill without its fillBelowTo partner would be).
    expect(b!.outsideTinted, `${why}: the fill reaches outside the edges`).toBeLessThanOrEqual(Math.floor(0.05 * b!.outside));
    // The expected value is always inside; window means are, but for the anomalous windows.
    expect(b!.expected, `${why}: expected not plotted`).toBeGreaterThan(0);
    expect(b!.expectedInside, `${why}: expected drawn outside the band`).toBe(b!.expected);
    expect(b!.valuesInside, `${why}: the window means are not drawn inside the band`).toBeGreaterThanOrEqual(Math.ceil(0.9 * b!.values));
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
