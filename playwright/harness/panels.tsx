// Renders provisioned dashboard panels with @grafana/ui's own visualizations
// (the uPlot time series and the table), from frames the plugin returned and
// with the panel's fieldConfig applied, for playwright/panels.spec.ts. Each
// plot reports what it drew (window.vigilPlots) so the spec can check the
// canvas pixels where the values should be.
import React, { Component, ReactNode, useLayoutEffect, useMemo } from 'react';
import type uPlot from 'uplot';
import {
  createTheme,
  DataFrame,
  dataFrameFromJSON,
  dateTime,
  FieldConfigSource,
  FieldType,
  getFieldDisplayName,
  TimeRange,
  toDataFrame,
} from '@grafana/data';
import { LegendDisplayMode, VizLegendOptions } from '@grafana/schema';
import { GlobalStyles, Table, TimeSeries, UPlotConfigBuilder } from '@grafana/ui';

// Grafana's app loads uPlot's stylesheet; @grafana/ui's GlobalStyles only adjusts it.
import uplotCss from 'uplot/dist/uPlot.min.css';

import { applyPanelFieldConfig } from './fieldConfig';
import { PanelInput, PanelsInput, PlotReport } from './panelTypes';

export const PANEL_WIDTH = 900;
export const PANEL_HEIGHT = 320;

const theme = createTheme();

function timeRangeOf(frames: DataFrame[]): TimeRange {
  let from = Infinity;
  let to = -Infinity;
  for (const f of frames) {
    for (const field of f.fields) {
      if (field.type === FieldType.time) {
        for (const v of field.values) {
          from = Math.min(from, v);
          to = Math.max(to, v);
        }
      }
    }
  }
  if (!Number.isFinite(from)) {
    from = to = Date.now();
  }
  // A single point still needs a range to be drawn in.
  if (from === to) {
    from -= 300_000;
    to += 300_000;
  }
  return { from: dateTime(from), to: dateTime(to), raw: { from: dateTime(from), to: dateTime(to) } };
}

function report(index: number, u: uPlot, aligned: DataFrame) {
  const plots = (window.vigilPlots ??= {});
  const yAxis = u.axes.find((a) => a.scale !== 'x') as (uPlot.Axis & { _splits?: number[]; _values?: string[] }) | undefined;
  const yScale = yAxis?.scale ? u.scales[yAxis.scale] : undefined;
  const plot: PlotReport = {
    draws: (plots[index]?.draws ?? 0) + 1,
    bbox: { ...u.bbox },
    series: u.series.slice(1).map((s, i) => {
      const ys = u.data[i + 1] as Array<number | null | undefined>;
      const stroke = typeof s.stroke === 'function' ? s.stroke(u, i + 1) : s.stroke;
      const field = aligned.fields[i + 1];
      return {
        label: field ? (field.state?.displayName ?? field.name) : String(s.label ?? ''),
        stroke: String(stroke),
        points: ys.map((y, j) => {
          if (y == null || !Number.isFinite(y)) {
            return null;
          }
          const px = u.valToPos(u.data[0][j], 'x', true);
          const py = u.valToPos(y, s.scale ?? 'y', true);
          return Number.isFinite(px) && Number.isFinite(py) ? ([px, py] as [number, number]) : null;
        }),
      };
    }),
    y:
      yAxis && yScale
        ? {
            min: yScale.min ?? NaN,
            max: yScale.max ?? NaN,
            distr: yScale.distr ?? 1,
            splits: [...(yAxis._splits ?? [])],
            values: (yAxis._values ?? []).map(String),
          }
        : undefined,
  };
  plots[index] = plot;
}

// Registers the draw hook on the plot's config before uPlot is created.
function Reporter({ config, index, aligned }: { config: UPlotConfigBuilder; index: number; aligned: DataFrame }) {
  useLayoutEffect(() => {
    config.addHook('draw', (u) => report(index, u, aligned));
  }, [config, index, aligned]);
  return null;
}

function hasRows(frames: DataFrame[]) {
  return frames.some((f) => f.length > 0);
}

function TimeSeriesPanel({ panel, index, frames }: { panel: PanelInput; index: number; frames: DataFrame[] }) {
  const timeRange = useMemo(() => timeRangeOf(frames), [frames]);
  const hasTime = frames.some((f) => f.fields.some((x) => x.type === FieldType.time));
  const hasNumber = frames.some((f) => f.fields.some((x) => x.type === FieldType.number));
  if (!hasRows(frames)) {
    return <div className="panel-message">No data</div>;
  }
  if (!hasTime || !hasNumber) {
    return <div className="panel-message">Data does not have a time field and a number field</div>;
  }
  const legend = { displayMode: LegendDisplayMode.List, placement: 'bottom', showLegend: true, calcs: [], ...(panel.options?.legend ?? {}) } as VizLegendOptions;
  return (
    <TimeSeries frames={frames} width={PANEL_WIDTH} height={PANEL_HEIGHT} timeRange={timeRange} timeZone="utc" legend={legend} options={panel.options}>
      {(config, aligned) => <Reporter config={config} index={index} aligned={aligned} />}
    </TimeSeries>
  );
}

function TablePanel({ frames }: { frames: DataFrame[] }) {
  if (!hasRows(frames)) {
    return <div className="panel-message">No data</div>;
  }
  return <Table data={frames[0]} width={PANEL_WIDTH} height={PANEL_HEIGHT} />;
}

// Like Grafana's panel chrome: a panel that throws shows its error, the others go on.
class PanelBoundary extends Component<{ children: ReactNode }, { error?: Error }> {
  state: { error?: Error } = {};
  static getDerivedStateFromError(error: Error) {
    return { error };
  }
  componentDidCatch(error: Error) {
    console.error(`panel failed: ${error.message}`);
  }
  render() {
    return this.state.error ? <div className="panel-error">Panel error: {this.state.error.message}</div> : this.props.children;
  }
}

function Panel({ panel, index }: { panel: PanelInput; index: number }) {
  const frames = useMemo(
    () => applyPanelFieldConfig(panel.type, panel.fieldConfig, panel.frames.map((f) => dataFrameFromJSON(f)), theme),
    [panel]
  );
  const names = frames.flatMap((f) => f.fields.filter((x) => x.type !== FieldType.time).map((x) => getFieldDisplayName(x, f, frames)));
  return (
    <section className="panel" data-panel={index} data-type={panel.type} data-fields={JSON.stringify(names)}>
      <h3>{panel.title}</h3>
      <div className="panel-body" style={{ width: PANEL_WIDTH, height: PANEL_HEIGHT, position: 'relative' }}>
        <PanelBoundary>
          {panel.type === 'table' ? (
            <TablePanel frames={frames} />
          ) : panel.type === 'timeseries' ? (
            <TimeSeriesPanel panel={panel} index={index} frames={frames} />
          ) : (
            <div className="panel-error">Panel type not rendered here: {panel.type}</div>
          )}
        </PanelBoundary>
      </div>
    </section>
  );
}

window.vigilApplyFieldConfig = (type, fieldConfig, frames) =>
  applyPanelFieldConfig(type, fieldConfig as Partial<FieldConfigSource>, frames.map((f) => toDataFrame(f)), theme).map((f) =>
    f.fields.map((x) => ({ name: x.name, config: x.config }))
  );

export function Panels({ input }: { input: PanelsInput }) {
  return (
    <div id="panels" style={{ padding: 16, display: 'flex', flexDirection: 'column', gap: 24 }}>
      {/* Grafana's page styles, uPlot's included: without them the plot and legend overlap. */}
      <GlobalStyles />
      <style>{uplotCss}</style>
      {input.panels.map((p, i) => (
        <Panel key={i} panel={p} index={i} />
      ))}
    </div>
  );
}
