// A page that renders Vigil's editors with @grafana/ui outside Grafana, so a
// real browser can drive them (playwright/editors.spec.ts). The data source
// is a stand-in whose schema resources return fixed lists. Given panels, it
// renders dashboard panels instead (panels.tsx, playwright/panels.spec.ts).
import React, { useState } from 'react';
import { createRoot } from 'react-dom/client';
import { DataSourceSettings } from '@grafana/data';
import { GlobalStyles } from '@grafana/ui';

import { ConfigEditor } from '../../src/components/ConfigEditor';
import { QueryEditor } from '../../src/components/QueryEditor';
import { VariableQueryEditor } from '../../src/components/VariableQueryEditor';
import { DataSource } from '../../src/datasource';
import { VigilOptions, VigilQuery, VigilSecureJsonData, VigilVariableQuery } from '../../src/types';
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

function Harness() {
  const [settings, setSettings] = useState({
    url: '',
    jsonData: {},
    secureJsonFields: {},
    secureJsonData: {},
  } as unknown as DataSourceSettings<VigilOptions, VigilSecureJsonData>);
  const [query, setQuery] = useState<VigilQuery>({ refId: 'A', queryType: 'ttest', measurement: 'temperatures', fields: ['hotend'] });
  const [runs, setRuns] = useState(0);
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
        <QueryEditor query={query} onChange={setQuery} onRunQuery={() => setRuns((r) => r + 1)} datasource={datasource} />
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
