import React, { useState } from 'react';
import { PanelData, QueryEditorProps, SelectableValue } from '@grafana/data';
import { InlineField, InlineFieldRow, RadioButtonGroup, Select, useTheme2 } from '@grafana/ui';

import { DataSource } from '../datasource';
import { LABEL } from './SchemaPickers';
import { BucketInput, CheckedInput, choices, Commit, InfluxSelection, KafkaSelection, LiveSwitch, SeriesFormat } from './Selection';
import {
  AnomalyDetector,
  AnomalyDirection,
  AnomalyOutput,
  DEFAULT_ANOMALY,
  DEFAULT_QUERY,
  TTestMode,
  VigilOptions,
  VigilQuery,
} from '../types';
import { AnomalyField, anomalyErrors, anomalyModeError, anomalyOutputError, AnomalySetting, detectorUses } from '../validation';
import rules from '../validation.json';

type Props = QueryEditorProps<DataSource, VigilQuery, VigilOptions>;

/** The detectors, in validation.json's order, each with what it compares a window with. */
export const DETECTORS = choices<AnomalyDetector>('detector', {
  ttest: { label: 't-test', description: "Welch's t-test of the window's points against the history; alpha sets the cut" },
  zscore: { label: 'z-score', description: "The window mean's distance from the history's mean, in standard deviations" },
  mad: { label: 'MAD', description: "The window mean's distance from the history's median, in scaled MADs (reads every point)" },
  seasonal: { label: 'Seasonal', description: 'The window mean against the same time of day or week in past seasons (median, MAD)' },
  holtwinters: { label: 'Holt-Winters', description: "The window mean against a Holt-Winters forecast with a daily or weekly season" },
  peers: { label: 'Peers', description: "Each series against the other series' median in the same window (3 or more series, e.g. a fleet's hosts)" },
});

/** What the threshold measures, per detector (the score is the deviation over threshold times this). */
const THRESHOLD_SCALE: Partial<Record<AnomalyDetector, string>> = {
  zscore: "standard deviations of the history's points",
  mad: "scaled MADs of the history's points",
  seasonal: "scaled MADs of the season position's past windows",
  holtwinters: "standard deviations of the forecast's one-step errors",
  peers: "scaled MADs of the other series' window means",
};

const OUTPUTS = choices<AnomalyOutput>('anomalyOutput', {
  score: { description: 'at least 0, above 1 anomalous: the same scale for every detector' },
  anomaly: { description: '1 when the score is above 1, else 0' },
  expected: { description: "the baseline's expected value" },
  band: { description: 'the window mean with the expected value and the band that scores at most 1' },
  pvalue: { label: 'p-value', description: "the t-test's p-value" },
  t: { description: "the t-test's t statistic" },
});
const DIRECTIONS = choices<AnomalyDirection>('direction', {
  both: { description: 'windows above or below the expected value' },
  above: { description: 'only windows above the expected value' },
  below: { description: 'only windows below the expected value' },
});
const SEASONS = choices<string>('season', {
  '1d': { description: 'the same time of day (UTC)' },
  '1w': { description: 'the same time of the week (UTC)' },
});
const MODES = choices<TTestMode>('mode', {
  auto: { description: 'points when they fit under Max points, else windows (detectors that need every point: points)' },
  points: { description: 'read every point' },
  windows: { description: 'read one summary row per window: fast on long ranges' },
});
const SOURCES: Array<SelectableValue<Source>> = [
  { label: 'InfluxDB', value: 'influxdb', description: "a measurement's fields in a bucket" },
  { label: 'Kafka topic', value: 'kafka', description: "a topic's retained messages" },
];
type Source = 'influxdb' | 'kafka';

/** The settings typed into text inputs: kept as typed, checked, and committed on blur. */
type TextSetting = 'window' | 'history' | 'alpha' | 'threshold' | 'seasons' | 'minDeviation' | 'hwAlpha' | 'hwBeta' | 'hwGamma';
type Texts = Record<TextSetting, string>;
const TEXT_SETTINGS: TextSetting[] = ['window', 'history', 'alpha', 'threshold', 'seasons', 'minDeviation', 'hwAlpha', 'hwBeta', 'hwGamma'];

/** The settings a detector may not read, cleared when the detector changes so that the query holds only what it uses. */
const DETECTOR_SETTINGS: AnomalySetting[] = ['history', 'alpha', 'threshold', 'season', 'seasons', 'hwAlpha', 'hwBeta', 'hwGamma'];

/** The query's settings as the text inputs show them (empty: the default, shown as the placeholder). */
function textsOf(query: VigilQuery): Texts {
  return Object.fromEntries(TEXT_SETTINGS.map((k) => [k, query[k] === undefined || query[k] === null ? '' : String(query[k])])) as Texts;
}

/**
 * A typed setting as the query holds it: a window as trimmed text, a number
 * as a number; empty is undefined (the default) and text that is no number
 * is NaN, which the checks reject.
 */
function valueOf(key: TextSetting, text: string): string | number | undefined {
  const t = text.trim();
  if (t === '') {
    return undefined;
  }
  return key === 'window' ? t : Number(t);
}

/** The query with the typed settings in place of its own. */
function draftOf(query: VigilQuery, texts: Texts): VigilQuery {
  return { ...query, ...Object.fromEntries(TEXT_SETTINGS.map((k) => [k, valueOf(k, texts[k])])) };
}

/**
 * What changing the detector to next changes in the query: the settings
 * next does not read are cleared (the threshold too, whose scale is each
 * detector's own), and an output or read mode next cannot give falls back
 * to the default.
 */
export function detectorPatch(query: VigilQuery, next: AnomalyDetector): Partial<VigilQuery> {
  const patch: Partial<VigilQuery> = { detector: next, threshold: undefined };
  for (const setting of DETECTOR_SETTINGS) {
    if (!detectorUses(next, setting)) {
      patch[setting] = undefined;
    }
  }
  if (anomalyOutputError(next, query.output || DEFAULT_ANOMALY.output)) {
    patch.output = undefined;
  }
  if (anomalyModeError(next, query.mode || DEFAULT_QUERY.mode || 'auto')) {
    patch.mode = undefined;
  }
  return patch;
}

/**
 * The anomaly query: its source (InfluxDB or a Kafka topic), a detector and
 * only the settings that detector reads, the shared filters, the output and
 * the read mode. Settings are checked as typed with the rules the backend
 * applies (validation.ts anomalyErrors); a change runs the query only when
 * every setting is valid.
 */
export function AnomalyEditor({ query, onChange, onRunQuery, datasource }: Props) {
  const [source, setSource] = useState<Source>(query.topic?.trim() ? 'kafka' : 'influxdb');
  const [texts, setTexts] = useState<Texts>(() => textsOf(query));
  const detector = query.detector || DEFAULT_ANOMALY.detector;
  const uses = (setting: AnomalySetting) => detectorUses(detector, setting);
  const errors = anomalyErrors(draftOf(query, texts));
  // Whether q can run: every setting valid, and a topic named when the source is one.
  const runnable = (q: VigilQuery, from: Source) => Object.keys(anomalyErrors(q)).length === 0 && (from === 'influxdb' || !!q.topic?.trim());

  // Commits a change and runs the query when every setting, as typed, is valid.
  const commitFrom = (patch: Partial<VigilQuery>, from: Source) => {
    onChange({ ...query, ...patch });
    if (runnable({ ...draftOf(query, texts), ...patch }, from)) {
      onRunQuery();
    }
  };
  const commit: Commit = (patch) => commitFrom(patch, source);
  const run = () => {
    if (runnable(draftOf(query, texts), source)) {
      onRunQuery();
    }
  };
  const setDetector = (next: AnomalyDetector) => {
    const patch = detectorPatch(query, next);
    setTexts((t) => ({ ...t, ...Object.fromEntries(TEXT_SETTINGS.filter((k) => k in patch).map((k) => [k, ''])) }));
    commit(patch);
  };
  const changeSource = (next: Source) => {
    setSource(next);
    if (next === 'kafka') {
      // Nothing to run until a topic is typed; the format becomes the topic's message format, and a
      // topic's every message is read (the backend refuses mode windows for mad even then).
      onChange({ ...query, bucket: undefined, format: undefined, live: undefined, mode: undefined });
    } else {
      commitFrom({ topic: undefined, format: undefined, timePath: undefined, keyPath: undefined }, next);
    }
  };
  // A text input for a setting: its check shown beside it, committed on blur unless it is no number.
  const input = (key: TextSetting, label: string, tooltip: string, placeholder: string | number | undefined) => (
    <CheckedInput
      label={label}
      tooltip={tooltip}
      value={texts[key]}
      placeholder={placeholder === undefined ? undefined : String(placeholder)}
      error={errors[key as AnomalyField]}
      onChange={(text) => setTexts((t) => ({ ...t, [key]: text }))}
      onCommit={() => {
        const value = valueOf(key, texts[key]);
        if (!(typeof value === 'number' && Number.isNaN(value))) {
          commit({ [key]: value });
        }
      }}
    />
  );
  const description = DETECTORS.find((d) => d.value === detector)?.description;
  const hw = uses('hwAlpha') || uses('hwBeta') || uses('hwGamma');
  const shown: AnomalyField[] = ['detector', 'window', 'minDeviation', 'direction', 'output', 'mode'];
  shown.push(...(DETECTOR_SETTINGS.filter(uses) as AnomalyField[]));
  const hidden = Object.entries(errors).filter(([field]) => !shown.includes(field as AnomalyField) || (field === 'mode' && source === 'kafka'));

  return (
    <>
      <InlineFieldRow>
        <InlineField label="Source" labelWidth={LABEL}>
          <RadioButtonGroup options={SOURCES} value={source} onChange={changeSource} />
        </InlineField>
        {source === 'influxdb' && <BucketInput query={query} datasource={datasource} onChange={onChange} onRun={run} />}
      </InlineFieldRow>
      {source === 'influxdb' ? (
        <InfluxSelection query={query} datasource={datasource} commit={commit} />
      ) : (
        <KafkaSelection query={query} onChange={onChange} commit={commit} onRun={run} />
      )}
      <InlineFieldRow>
        <InlineField label="Detector" labelWidth={LABEL} invalid={!!errors.detector} error={errors.detector}>
          <Select
            aria-label="Detector"
            width={24}
            options={DETECTORS}
            value={DETECTORS.find((d) => d.value === detector) ?? null}
            onChange={(v: SelectableValue<AnomalyDetector>) => v.value && v.value !== detector && setDetector(v.value)}
          />
        </InlineField>
        <Description text={description} />
      </InlineFieldRow>
      <InlineFieldRow>
        {input(
          'window',
          'Window',
          `The detection step: windows aligned to the Unix epoch, at most ${rules.window.max}${uses('season') ? ', dividing the season' : ''}.`,
          DEFAULT_QUERY.window
        )}
        {uses('history') && input('history', 'History', 'Points in the baseline; anomalous windows never enter it.', DEFAULT_QUERY.history)}
        {uses('alpha') && input('alpha', 'Alpha', 'A window with a p-value below alpha is anomalous (score above 1).', DEFAULT_QUERY.alpha)}
        {uses('threshold') &&
          input(
            'threshold',
            'Threshold',
            `The deviation at which the score reaches 1, in ${THRESHOLD_SCALE[detector] ?? "the detector's own scale"}; empty: the detector's default.`,
            DEFAULT_ANOMALY.threshold[detector]
          )}
      </InlineFieldRow>
      {(uses('season') || uses('seasons') || hw) && (
        <InlineFieldRow>
          {uses('season') && (
            <InlineField label="Season" labelWidth={LABEL} invalid={!!errors.season} error={errors.season}>
              <RadioButtonGroup options={SEASONS} value={query.season || DEFAULT_ANOMALY.season} onChange={(season) => commit({ season })} />
            </InlineField>
          )}
          {uses('seasons') && input('seasons', 'Seasons', 'Past seasons in the baseline of each time of the season.', DEFAULT_ANOMALY.seasons)}
          {uses('hwAlpha') && input('hwAlpha', 'Level α', 'hwAlpha, the level smoothing in (0, 1); give all three, or none to fit them on the warm-up.', 'fitted')}
          {uses('hwBeta') && input('hwBeta', 'Trend β', 'hwBeta, the trend smoothing in (0, 1); give all three, or none to fit them on the warm-up.', 'fitted')}
          {uses('hwGamma') && input('hwGamma', 'Season γ', 'hwGamma, the season smoothing in (0, 1); give all three, or none to fit them on the warm-up.', 'fitted')}
        </InlineFieldRow>
      )}
      <InlineFieldRow>
        {input(
          'minDeviation',
          'Min deviation',
          "In the series' own units: a window mean closer than this to the expected value is never anomalous.",
          DEFAULT_ANOMALY.minDeviation
        )}
        <InlineField label="Direction" labelWidth={LABEL} invalid={!!errors.direction} error={errors.direction}>
          <RadioButtonGroup
            options={DIRECTIONS}
            value={query.direction || DEFAULT_ANOMALY.direction}
            onChange={(direction) => commit({ direction })}
          />
        </InlineField>
      </InlineFieldRow>
      <InlineFieldRow>
        <InlineField label="Output" labelWidth={LABEL} invalid={!!errors.output} error={errors.output}>
          <RadioButtonGroup
            options={OUTPUTS.filter((o) => !anomalyOutputError(detector, o.value!))}
            value={query.output || DEFAULT_ANOMALY.output}
            onChange={(output) => commit({ output })}
          />
        </InlineField>
        {source === 'influxdb' && (
          <>
            <InlineField label="Read" labelWidth={LABEL} invalid={!!errors.mode} error={errors.mode}>
              <RadioButtonGroup
                options={MODES.filter((m) => !anomalyModeError(detector, m.value!))}
                value={query.mode || DEFAULT_QUERY.mode}
                onChange={(mode) => commit({ mode })}
              />
            </InlineField>
            <SeriesFormat query={query} commit={commit} />
            <LiveSwitch query={query} commit={commit} />
          </>
        )}
      </InlineFieldRow>
      {hidden.length > 0 && (
        <Message role="alert" label="Other settings" error>
          {hidden.map(([field, message]) => `${field}: ${message}`).join('; ')}
        </Message>
      )}
    </>
  );
}

/** The chosen detector's one-line description, beside the picker. */
function Description({ text }: { text?: string }) {
  const theme = useTheme2();
  return (
    <span aria-label="Detector description" style={{ alignSelf: 'center', color: theme.colors.text.secondary, paddingLeft: theme.spacing(1) }}>
      {text}
    </span>
  );
}

/** A line of text under the query, in the error colour when error is set. */
function Message({ label, error, role, children }: { label: string; error?: boolean; role?: string; children: React.ReactNode }) {
  const theme = useTheme2();
  return (
    <div
      role={role}
      aria-label={label}
      style={{ color: error ? theme.colors.error.text : theme.colors.text.secondary, padding: theme.spacing(0.5, 0) }}
    >
      {children}
    </div>
  );
}

/** What the preview shows: nothing, the query's error, or its windows' counts. */
export type Preview =
  | { kind: 'none' }
  | { kind: 'error'; message: string }
  | { kind: 'counts'; anomalous: number; windows: number; series: number };

/** A count from meta.custom, or undefined when the frame has none. */
function count(custom: unknown, key: 'windows' | 'anomalousWindows'): number | undefined {
  const v = custom && typeof custom === 'object' ? (custom as Record<string, unknown>)[key] : undefined;
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

/**
 * The preview of query refId's last response: its error when it failed,
 * else the sums of its frames' meta.custom windows and anomalousWindows
 * (pkg/frames Anomaly: one frame per series, each with its series' counts);
 * nothing before a response or when no frame carries the counts (a Live
 * stream's frames, another query type's).
 */
export function previewOf(data: PanelData | undefined, refId: string): Preview {
  if (!data) {
    return { kind: 'none' };
  }
  const mine = (r?: string) => r === undefined || r === refId;
  const error = [...(data.errors ?? []), ...(data.error ? [data.error] : [])].find((e) => mine(e.refId));
  if (error) {
    return { kind: 'error', message: error.message || error.data?.message || 'The query failed' };
  }
  let found = false;
  let anomalous = 0;
  let windows = 0;
  let series = 0;
  for (const frame of data.series ?? []) {
    const w = count(frame.meta?.custom, 'windows');
    const a = count(frame.meta?.custom, 'anomalousWindows');
    if (!mine(frame.refId) || w === undefined || a === undefined) {
      continue;
    }
    found = true;
    windows += w;
    anomalous += a;
    series += w > 0 ? 1 : 0;
  }
  return found ? { kind: 'counts', anomalous, windows, series } : { kind: 'none' };
}

/** The preview's sentence for counts. */
export function previewText(p: { anomalous: number; windows: number; series: number }): string {
  if (p.windows === 0) {
    return 'No complete windows in this range';
  }
  const across = p.series > 1 ? ` across ${p.series} series` : '';
  return `${p.anomalous} anomalous window${p.anomalous === 1 ? '' : 's'} of ${p.windows} in this range${across}`;
}

/**
 * Under an anomaly query: how many windows of the panel's range its last
 * response found anomalous, so that a detector can be tuned before a rule
 * is saved; the error when the query failed; nothing before a response.
 */
export function AnomalyPreview({ data, refId }: { data?: PanelData; refId: string }) {
  const p = previewOf(data, refId);
  if (p.kind === 'none') {
    return null;
  }
  if (p.kind === 'error') {
    return (
      <Message role="alert" label="Anomaly preview" error>
        {p.message}
      </Message>
    );
  }
  return <Message label="Anomaly preview">{previewText(p)}</Message>;
}
