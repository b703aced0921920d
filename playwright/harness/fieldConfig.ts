// Field config as Grafana applies it to a provisioned panel, without Grafana:
// the panel plugin's defaults are merged under the dashboard's fieldConfig
// (Grafana's PanelModel does this when it loads a dashboard), then
// @grafana/data's applyFieldOverrides applies defaults and overrides to the
// frames. Grafana fills the registry of config properties from its app code;
// here every property the panel sets is registered and passed through as is.
import {
  applyFieldOverrides,
  DataFrame,
  FieldConfigOptionsRegistry,
  FieldConfigPropertyItem,
  FieldConfigSource,
  GrafanaTheme2,
} from '@grafana/data';

// Defaults of Grafana's time series panel, as its dashboard JSON shows them
// for a new panel (the panel's own code is not a package we can use).
const TIMESERIES_DEFAULTS = {
  color: { mode: 'palette-classic' },
  thresholds: { mode: 'absolute', steps: [{ color: 'green', value: null }, { color: 'red', value: 80 }] },
  custom: {
    axisBorderShow: false,
    axisCenteredZero: false,
    axisColorMode: 'text',
    axisLabel: '',
    axisPlacement: 'auto',
    barAlignment: 0,
    drawStyle: 'line',
    fillOpacity: 0,
    gradientMode: 'none',
    hideFrom: { legend: false, tooltip: false, viz: false },
    insertNulls: false,
    lineInterpolation: 'linear',
    lineWidth: 1,
    pointSize: 5,
    scaleDistribution: { type: 'linear' },
    showPoints: 'auto',
    spanNulls: false,
    stacking: { group: 'A', mode: 'none' },
    thresholdsStyle: { mode: 'off' },
  },
};

// Defaults of Grafana's table panel.
const TABLE_DEFAULTS = {
  color: { mode: 'thresholds' },
  thresholds: { mode: 'absolute', steps: [{ color: 'green', value: null }, { color: 'red', value: 80 }] },
  custom: { align: 'auto', cellOptions: { type: 'auto' }, inspect: false },
};

export const PANEL_DEFAULTS: Record<string, object> = { timeseries: TIMESERIES_DEFAULTS, table: TABLE_DEFAULTS };

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Deep merge: values of `over` win; objects merge, arrays and scalars replace. */
export function mergeDefaults(base: unknown, over: unknown): unknown {
  if (!isObj(base) || !isObj(over)) {
    return over === undefined ? base : over;
  }
  const out: Obj = { ...base };
  for (const [k, v] of Object.entries(over)) {
    out[k] = mergeDefaults(base[k], v);
  }
  return out;
}

// Dashboard JSON writes the base threshold as null; Grafana reads it as -Infinity.
function fixThresholds(config: Obj | undefined) {
  const steps = (config?.thresholds as { steps?: Array<{ value: number | null }> } | undefined)?.steps;
  steps?.forEach((s) => {
    if (s.value === null) {
      s.value = -Infinity;
    }
  });
}

function registryFor(source: FieldConfigSource): FieldConfigOptionsRegistry {
  const ids = new Set<string>();
  for (const key of Object.keys(source.defaults)) {
    if (key === 'custom') {
      Object.keys(source.defaults.custom ?? {}).forEach((c) => ids.add(`custom.${c}`));
    } else {
      ids.add(key);
    }
  }
  source.overrides.forEach((o) => o.properties.forEach((p) => ids.add(p.id)));
  return new FieldConfigOptionsRegistry(() =>
    [...ids].map((id): FieldConfigPropertyItem => {
      const isCustom = id.startsWith('custom.');
      return {
        id,
        name: id,
        path: isCustom ? id.slice('custom.'.length) : id,
        isCustom,
        editor: () => null,
        override: () => null,
        process: (value) => value,
        shouldApply: () => true,
      };
    })
  );
}

/** Applies a provisioned panel's fieldConfig (with its type's defaults) to the frames. */
export function applyPanelFieldConfig(type: string, fieldConfig: Partial<FieldConfigSource> | undefined, frames: DataFrame[], theme: GrafanaTheme2) {
  const defaults = mergeDefaults(structuredClone(PANEL_DEFAULTS[type] ?? {}), structuredClone(fieldConfig?.defaults ?? {})) as Obj;
  fixThresholds(defaults);
  const overrides = structuredClone(fieldConfig?.overrides ?? []);
  overrides.forEach((o) => o.properties.forEach((p) => p.id === 'thresholds' && fixThresholds({ thresholds: p.value })));
  const source: FieldConfigSource = { defaults, overrides };
  return applyFieldOverrides({
    data: frames,
    fieldConfig: source,
    fieldConfigRegistry: registryFor(source),
    replaceVariables: (v: string) => v,
    theme,
    timeZone: 'utc',
  });
}
