import React, { ChangeEvent, useEffect, useRef, useState } from 'react';
import { QueryEditorProps, SelectableValue } from '@grafana/data';
import { Button, CodeEditor, InlineField, InlineFieldRow, Input, RadioButtonGroup, TagsInput } from '@grafana/ui';

import { DataSource } from '../datasource';
import { AnomalyEditor, AnomalyPreview } from './AnomalyEditor';
import { LABEL } from './SchemaPickers';
import {
  BucketInput,
  CheckedInput,
  choices,
  InfluxSelection,
  KafkaSelection,
  LiveSwitch,
  QueryMeasurement,
  SeriesFormat,
} from './Selection';
import {
  AlertsFormat,
  DEFAULT_FLUX,
  DEFAULT_INFLUXQL,
  DEFAULT_POWER,
  DEFAULT_QUERY,
  PowerAggregate,
  queryTypeOf,
  TTestMode,
  TTestOutput,
  VigilOptions,
  VigilQuery,
  VigilQueryType,
} from '../types';
import { alphaError, historyError, optionError, windowError } from '../validation';
import rules from '../validation.json';

type Props = QueryEditorProps<DataSource, VigilQuery, VigilOptions>;

const TYPES: Array<SelectableValue<VigilQueryType>> = [
  { label: 't-test', value: 'ttest', description: "Welch's t-test of each window against the history" },
  { label: 'Kafka t-test', value: 'kafka', description: "The same t-test over a Kafka topic's messages" },
  { label: 'Anomaly', value: 'anomaly', description: 'A choice of detector over InfluxDB or a Kafka topic' },
  { label: 'Power', value: 'power', description: 'Unmetered household energy per minute (Wh)' },
  { label: 'Alert history', value: 'alerts', description: 'Alerts stored by the alert-history receiver' },
  { label: 'Flux', value: 'flux', description: 'A raw Flux script' },
  { label: 'InfluxQL', value: 'influxql', description: 'A raw InfluxQL statement' },
];
const AGGREGATES = choices<PowerAggregate>('aggregate', {
  auto: { description: 'mean when the panel is coarser than the data' },
});
const FORMATS: Array<SelectableValue<AlertsFormat>> = [
  { label: 'table', value: 'table' },
  { label: 'annotations', value: 'annotations', description: 'one region per alert, from firing to OK' },
];
const OUTPUTS = choices<TTestOutput>('output', {
  pvalue: { label: 'p-value' },
  anomaly: { description: '1 when the p-value is below alpha, else 0' },
});
const MODES = choices<TTestMode>('mode', {
  auto: { description: 'points when they fit under Max points, else windows' },
  points: { description: 'read every point: exact parity with Kapacitor' },
  windows: { description: 'read one summary row per window: fast on long ranges' },
});

/** Edits a Vigil query. Text inputs run the query when they lose focus and are valid. */
export function QueryEditor(props: Props) {
  const { query, onChange, onRunQuery, datasource } = props;
  const type = queryTypeOf(query);
  // A raw query type starts from the default script when it has none yet.
  const setType = (queryType: VigilQueryType) => {
    const patch: Partial<VigilQuery> = { queryType };
    if (queryType === 'flux' && query.flux === undefined) {
      patch.flux = DEFAULT_FLUX;
    }
    if (queryType === 'influxql' && !query.influxql?.trim()) {
      patch.influxql = DEFAULT_INFLUXQL;
    }
    if (queryType === 'anomaly') {
      patch.format = anomalyFormat(query);
    }
    // The anomaly query's outputs score, expected and band are not the t-test's.
    if ((queryType === 'ttest' || queryType === 'kafka') && query.output && optionError('output', query.output)) {
      patch.output = undefined;
    }
    onChange({ ...query, ...patch });
    onRunQuery();
  };

  return (
    <>
      <InlineFieldRow>
        <InlineField label="Query type" labelWidth={LABEL}>
          <RadioButtonGroup options={TYPES} value={type} onChange={setType} />
        </InlineField>
        {type !== 'kafka' && type !== 'anomaly' && <BucketInput query={query} datasource={datasource} onChange={onChange} onRun={onRunQuery} />}
      </InlineFieldRow>
      {type === 'flux' && <FluxEditor {...props} />}
      {type === 'influxql' && <InfluxQLEditor {...props} />}
      {type === 'ttest' && <TTestEditor {...props} />}
      {type === 'kafka' && <KafkaEditor {...props} />}
      {type === 'anomaly' && <AnomalyEditor {...props} />}
      {type === 'power' && <PowerEditor {...props} />}
      {type === 'alerts' && <AlertsEditor {...props} />}
      {type === 'anomaly' && <AnomalyPreview data={props.data} refId={query.refId} />}
      <ExecutedQuery {...props} />
    </>
  );
}

/**
 * The format an anomaly query keeps from the query it was switched from: a
 * topic's message format with a topic, annotations without one (the
 * backend refuses any other, e.g. the alert history's table).
 */
function anomalyFormat(query: VigilQuery): VigilQuery['format'] {
  const kafka = query.topic?.trim() ? ['line', 'json'] : ['annotations'];
  return query.format && kafka.includes(query.format) ? query.format : undefined;
}

/**
 * A code editor for a raw script that runs it when it loses focus, on
 * Ctrl/Cmd+S and on Ctrl/Cmd+Enter.
 */
function ScriptEditor({ value, onRun }: { value: string; onRun: (text: string) => void }) {
  // The Ctrl+Enter handler is bound once, when the editor mounts: it calls
  // the latest onRun, which holds the latest query.
  const latest = useRef(onRun);
  useEffect(() => {
    latest.current = onRun;
  }, [onRun]);
  const run = (text: string) => latest.current(text);
  return (
    <CodeEditor
      value={value}
      language="sql"
      height={200}
      showLineNumbers
      showMiniMap={false}
      onBlur={run}
      onSave={run}
      onEditorDidMount={(editor, monaco) => {
        // addAction, not addCommand: Monaco gives an addCommand keybinding to
        // the last editor created (microsoft/monaco-editor#2947), and a panel
        // can have several queries.
        editor.addAction({
          id: 'vigil.runQuery',
          label: 'Run query',
          keybindings: [monaco.KeyMod.CtrlCmd | monaco.KeyCode.Enter],
          run: () => run(editor.getValue()),
        });
      }}
    />
  );
}

function FluxEditor({ query, onChange, onRunQuery }: Props) {
  const run = (flux: string) => {
    onChange({ ...query, flux });
    onRunQuery();
  };
  return <ScriptEditor value={query.flux ?? DEFAULT_FLUX} onRun={run} />;
}

function InfluxQLEditor({ query, onChange, onRunQuery }: Props) {
  const run = (influxql: string) => {
    onChange({ ...query, influxql });
    onRunQuery();
  };
  return (
    <>
      <ScriptEditor value={query.influxql ?? DEFAULT_INFLUXQL} onRun={run} />
      <p aria-label="InfluxQL help">
        Runs against the bucket (database/retention policy). Macros: <code>$timeFilter</code> (the panel&apos;s time range),{' '}
        <code>$__interval</code> and <code>$__interval_ms</code> (its interval); dashboard variables are replaced too. Ctrl+Enter runs.
      </p>
    </>
  );
}

function TTestEditor(props: Props) {
  return <TTestSettings {...props}>{(commit) => <InfluxSelection query={props.query} datasource={props.datasource} commit={commit} />}</TTestSettings>;
}

/**
 * The kafka query: a topic, its message format and what selects the series
 * (typed in: a topic has no schema to list), then the t-test's settings.
 */
function KafkaEditor(props: Props) {
  const { query, onChange, onRunQuery } = props;
  return (
    <TTestSettings {...props}>
      {(commit) => <KafkaSelection query={query} onChange={onChange} commit={commit} onRun={onRunQuery} />}
    </TTestSettings>
  );
}

/**
 * The t-test's settings (window, history, alpha, output, read mode, format,
 * Live) around the selection its caller renders with commit.
 */
function TTestSettings({
  query,
  onChange,
  onRunQuery,
  children,
}: Props & { children: (commit: (patch: Partial<VigilQuery>) => void) => React.ReactNode }) {
  const kafka = queryTypeOf(query) === 'kafka';
  const [window, setWindow] = useState(query.window ?? DEFAULT_QUERY.window ?? '');
  const [history, setHistory] = useState(String(query.history ?? DEFAULT_QUERY.history));
  const [alpha, setAlpha] = useState(String(query.alpha ?? DEFAULT_QUERY.alpha));
  const errors = {
    window: windowError(window),
    history: historyError(history.trim() === '' ? undefined : Number(history)),
    alpha: alphaError(alpha.trim() === '' ? undefined : Number(alpha)),
  };
  const valid = !errors.window && !errors.history && !errors.alpha;
  // Commits a change and runs the query when everything is valid.
  const commit = (patch: Partial<VigilQuery>) => {
    onChange({ ...query, ...patch });
    if (valid) {
      onRunQuery();
    }
  };
  const numberOrUndefined = (text: string) => (text.trim() === '' ? undefined : Number(text));

  return (
    <>
      {children(commit)}
      <InlineFieldRow>
        <CheckedInput
          label="Window"
          tooltip={`Windows aligned to the Unix epoch, at most ${rules.window.max}; each is tested against the history.`}
          value={window}
          placeholder={DEFAULT_QUERY.window}
          error={errors.window}
          onChange={setWindow}
          onCommit={() => commit({ window: window.trim() || undefined })}
        />
        <CheckedInput
          label="History"
          tooltip="Points in the baseline; anomalous windows never enter it."
          value={history}
          placeholder={String(DEFAULT_QUERY.history)}
          error={errors.history}
          onChange={setHistory}
          onCommit={() => commit({ history: numberOrUndefined(history) })}
        />
        <CheckedInput
          label="Alpha"
          tooltip="A window with a p-value below alpha is anomalous."
          value={alpha}
          placeholder={String(DEFAULT_QUERY.alpha)}
          error={errors.alpha}
          onChange={setAlpha}
          onCommit={() => commit({ alpha: numberOrUndefined(alpha) })}
        />
      </InlineFieldRow>
      <InlineFieldRow>
        <InlineField label="Output" labelWidth={LABEL}>
          <RadioButtonGroup options={OUTPUTS} value={query.output ?? DEFAULT_QUERY.output} onChange={(output) => commit({ output })} />
        </InlineField>
        {!kafka && (
          <>
            <InlineField label="Read" labelWidth={LABEL}>
              <RadioButtonGroup options={MODES} value={query.mode ?? DEFAULT_QUERY.mode} onChange={(mode) => commit({ mode })} />
            </InlineField>
            <SeriesFormat query={query} commit={commit} />
          </>
        )}
        <LiveSwitch query={query} commit={commit} />
      </InlineFieldRow>
    </>
  );
}

function PowerEditor({ query, onChange, onRunQuery, datasource }: Props) {
  const commit = (patch: Partial<VigilQuery>) => {
    onChange({ ...query, ...patch });
    onRunQuery();
  };
  return (
    <>
      <InlineFieldRow>
        <QueryMeasurement query={query} datasource={datasource} commit={commit} placeholder="power" />
        <InlineField label="Active power" labelWidth={LABEL} tooltip="Field with the minute's average power, kW.">
          <Input
            aria-label="Active power"
            width={24}
            value={query.activePower ?? ''}
            placeholder={DEFAULT_POWER.activePower}
            onChange={(e: ChangeEvent<HTMLInputElement>) => onChange({ ...query, activePower: e.currentTarget.value })}
            onBlur={onRunQuery}
          />
        </InlineField>
      </InlineFieldRow>
      <InlineFieldRow>
        <InlineField label="Sub-meters" labelWidth={LABEL} tooltip="Fields with each sub-meter's energy per minute, Wh.">
          <TagsInput tags={query.subMeters ?? DEFAULT_POWER.subMeters} onChange={(subMeters: string[]) => commit({ subMeters })} />
        </InlineField>
        <InlineField label="Aggregate" labelWidth={LABEL}>
          <RadioButtonGroup
            options={AGGREGATES}
            value={query.aggregate ?? DEFAULT_POWER.aggregate}
            onChange={(aggregate) => commit({ aggregate })}
          />
        </InlineField>
      </InlineFieldRow>
    </>
  );
}

function AlertsEditor({ query, onChange, onRunQuery }: Props) {
  return (
    <InlineFieldRow>
      <InlineField label="Measurement" labelWidth={LABEL} tooltip="Where the alert-history receiver writes.">
        <Input
          aria-label="Measurement"
          width={24}
          value={query.measurement ?? ''}
          placeholder="alerts"
          onChange={(e: ChangeEvent<HTMLInputElement>) => onChange({ ...query, measurement: e.currentTarget.value })}
          onBlur={onRunQuery}
        />
      </InlineField>
      <InlineField label="Format" labelWidth={LABEL}>
        <RadioButtonGroup
          options={FORMATS}
          value={query.format ?? 'table'}
          onChange={(format) => {
            onChange({ ...query, format });
            onRunQuery();
          }}
        />
      </InlineField>
    </InlineFieldRow>
  );
}

/** The statements the backend ran for this query, shown on demand. */
function ExecutedQuery({ data }: Props) {
  const [open, setOpen] = useState(false);
  const executed = data?.series?.map((f) => f.meta?.executedQueryString).find((q) => !!q);
  if (!executed) {
    return null;
  }
  return (
    <>
      <Button variant="secondary" size="sm" fill="text" icon={open ? 'angle-down' : 'angle-right'} onClick={() => setOpen(!open)}>
        Executed query
      </Button>
      {open && <pre aria-label="Executed query">{executed}</pre>}
    </>
  );
}
