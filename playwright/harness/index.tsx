// A page that renders Vigil's editors with @grafana/ui outside Grafana, so a
// real browser can drive them (playwright/editors.spec.ts). The data source
// is a stand-in whose schema resources return fixed lists. Given panels, it
// renders dashboard panels instead (panels.tsx, playwright/panels.spec.ts).
import React, { useMemo, useState } from 'react';
import { createRoot } from 'react-dom/client';
import { DataSourceSettings, LoadingState, PanelData } from '@grafana/data';
import { GlobalStyles } from '@grafana/ui';

import { ConfigEditor } from '../../src/components/ConfigEditor';
import { QueryEditor } from '../../src/components/QueryEditor';
import { VariableQueryEditor } from '../../src/components/VariableQueryEditor';
import { DataSource } from '../../src/datasource';
import { queryTypeOf, VigilOptions, VigilQuery, VigilSecureJsonData, VigilVariableQuery } from '../../src/types';
import { Panels } from './panels';
import './panelTypes';

const resources: Record<string, unknown> = {
  measurements: ['house', 'temperatures'],
  fields: [
    { name: 'air', type: 'float' },
    { name: 'bed', type: 'float' },
    { name: 'hotend', type: 'float' },
    { name: 'state', type: 'string' },
  ],
  'tag-keys': ['printer'],
  'tag-values': ['mk3', 'mk4'],
};
const datasource = {
  defaultBucket: 'printer/autogen',
  getResource: (path: string) => Promise.resolve(resources[path]),
} as unknown as DataSource;

// The stand-in's anomalous windows of 288 (a day of 5m windows) per field, by detector.
const ANOMALOUS: Record<string, number> = { ttest: 2, zscore: 5, mad: 4, seasonal: 1, holtwinters: 3, peers: 0 };

/**
 * The stand-in's answer to an anomaly query, for the editor's preview: a
 * frame per field with the counts the backend puts in meta.custom, or an
 * error when no field is chosen. Other query types get no answer.
 */
function answer(query: VigilQuery): PanelData | undefined {
  if (queryTypeOf(query) !== 'anomaly') {
    return undefined;
  }
  const fields = query.fields ?? [];
  const series = fields.map(() => ({
    refId: query.refId,
    fields: [],
    length: 0,
    meta: { custom: { windows: 288, anomalousWindows: ANOMALOUS[query.detector ?? 'ttest'] } },
  }));
  const errors = fields.length === 0 ? [{ refId: query.refId, message: 'no fields: choose the fields to test' }] : undefined;
  return { state: errors ? LoadingState.Error : LoadingState.Done, series, errors } as unknown as PanelData;
}

function Harness() {
  const [settings, setSettings] = useState({
    url: '',
    jsonData: {},
    secureJsonFields: {},
    secureJsonData: {},
  } as unknown as DataSourceSettings<VigilOptions, VigilSecureJsonData>);
  const [query, setQuery] = useState<VigilQuery>({ refId: 'A', queryType: 'ttest', measurement: 'temperatures', fields: ['hotend'] });
  const [runs, setRuns] = useState(0);
  // Each run answers the query as it is when the run is rendered (onChange and onRunQuery come in one batch).
  // eslint-disable-next-line react-hooks/exhaustive-deps
  const data = useMemo(() => (runs > 0 ? answer(query) : undefined), [runs]);
  const [variable, setVariable] = useState<VigilVariableQuery>({ kind: 'measurements' });
  return (
    <div style={{ padding: 16, display: 'flex', flexDirection: 'column', gap: 24 }}>
      {/* Grafana's page styles (border-box sizing among them), as every Grafana page has. */}
      <GlobalStyles />
      <section id="config">
        <h2>Config editor</h2>
        <ConfigEditor options={settings} onOptionsChange={setSettings} />
        <pre id="settings-json">{JSON.stringify({ url: settings.url, jsonData: settings.jsonData })}</pre>
      </section>
      <section id="query">
        <h2>Query editor</h2>
        <QueryEditor query={query} onChange={setQuery} onRunQuery={() => setRuns((r) => r + 1)} datasource={datasource} data={data} />
        <pre id="query-json">{JSON.stringify(query)}</pre>
        <div id="runs">{runs}</div>
      </section>
      <section id="variable">
        <h2>Variable query editor</h2>
        <VariableQueryEditor query={variable} datasource={datasource} onChange={(q) => setVariable(q)} />
        <pre id="variable-json">{JSON.stringify(variable)}</pre>
      </section>
    </div>
  );
}

// The panels page when the spec provides panels (window.vigilPanels), else the editors.
const panels = window.vigilPanels;
createRoot(document.getElementById('root')!).render(panels ? <Panels input={panels} /> : <Harness />);
