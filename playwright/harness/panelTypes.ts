// The input of the panels page (VIGIL_PANELS_JSON) and what the page reports
// back about each drawn plot. Shared by the harness and playwright/panels.spec.ts.
import type { DataFrameJSON, FieldConfigSource } from '@grafana/data';

export interface PanelExpect {
  /** Series names the legend must list (time series), or column headers (table). */
  series?: string[];
  /** Rows the frames hold at least; above 0, "No data" fails the panel. */
  minRows?: number;
  /** Anomaly bands (the band output's series, by legend name): the fill between lower and upper, value and expected inside. */
  bands?: Array<{ value: string; expected: string; lower: string; upper: string }>;
}

export interface PanelInput {
  dashboard?: string;
  title: string;
  /** Grafana panel type: "timeseries" or "table". */
  type: string;
  /** The panel's fieldConfig, verbatim from the dashboard JSON. */
  fieldConfig?: Partial<FieldConfigSource>;
  /** The panel's options, verbatim from the dashboard JSON. */
  options?: Record<string, unknown>;
  /** Frames as Grafana's /api/ds/query returns them (results.<refId>.frames). */
  frames: DataFrameJSON[];
  expect?: PanelExpect;
}

export interface PanelsInput {
  panels: PanelInput[];
}

/** A series as uPlot drew it: device-pixel positions on the canvas of its finite values. */
export interface PlottedSeries {
  label: string;
  stroke: string;
  /** [x, y] in canvas pixels for each value uPlot could place; null where it could not. */
  points: Array<[number, number] | null>;
}

/** What the panel's draw hook saw on the latest draw. */
export interface PlotReport {
  draws: number;
  /** Plotting area inside the canvas, canvas pixels. */
  bbox: { left: number; top: number; width: number; height: number };
  series: PlottedSeries[];
  /** The first y axis: scale range, distribution (3 = log) and the ticks drawn. */
  y?: { min: number; max: number; distr: number; splits: number[]; values: string[] };
}

declare global {
  interface Window {
    vigilPanels?: PanelsInput;
    vigilPlots?: Record<number, PlotReport>;
    /** The harness's field config step, for playwright/fieldConfig.spec.ts: each field's name and resulting config. */
    vigilApplyFieldConfig?: (type: string, fieldConfig: unknown, frames: unknown[]) => Array<Array<{ name: string; config: unknown }>>;
  }
}
