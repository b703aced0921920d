import React, { useState } from 'react';
import { fireEvent, render, screen, waitFor } from '@testing-library/react';
import { LoadingState, PanelData } from '@grafana/data';

import { QueryEditor } from './QueryEditor';
import { DETECTORS, detectorPatch, previewOf, previewText } from './AnomalyEditor';
import { DataSource } from '../datasource';
import { AnomalyDetector, VigilQuery } from '../types';

const resources: Record<string, unknown> = {
  measurements: ['house', 'temperatures'],
  fields: [{ name: 'hotend', type: 'float' }],
  'tag-keys': ['printer'],
  'tag-values': ['mk3', 'mk4'],
};
const datasource = { defaultBucket: 'printer/autogen', getResource: jest.fn((path: string) => Promise.resolve(resources[path])) } as unknown as DataSource;

const base: VigilQuery = { refId: 'A', queryType: 'anomaly', measurement: 'temperatures', fields: ['hotend'] };

/** Renders the editor as Grafana does: the query it edits is the one it last gave onChange. */
function setup(query: Partial<VigilQuery> = {}, data?: PanelData) {
  const onChange = jest.fn();
  const onRunQuery = jest.fn();
  const latest: { query: VigilQuery } = { query: { ...base, ...query } };
  function Stateful() {
    const [q, setQ] = useState<VigilQuery>(latest.query);
    const change = (next: VigilQuery) => {
      latest.query = next;
      onChange(next);
      setQ(next);
    };
    return <QueryEditor query={q} onChange={change} onRunQuery={onRunQuery} datasource={datasource} data={data} />;
  }
  const view = render(<Stateful />);
  return { onChange, onRunQuery, latest, view };
}

/** Opens the detector picker and clicks label's option (the last text: the picked one is shown first). */
async function pickDetector(label: string) {
  fireEvent.keyDown(screen.getByLabelText('Detector'), { key: 'ArrowDown' });
  const found = await screen.findAllByText(label);
  fireEvent.click(found[found.length - 1]);
}

/** Types text into the input labelled label and leaves it. */
function type(label: string, text: string) {
  const input = screen.getByLabelText(label);
  fireEvent.change(input, { target: { value: text } });
  fireEvent.blur(input);
}

describe('AnomalyEditor: the detector picker', () => {
  it('is the query type the editor offers, starting from the t-test detector', () => {
    const { onChange, onRunQuery } = setup({ queryType: 'ttest' });
    fireEvent.click(screen.getByLabelText('Anomaly'));
    expect(onChange).toHaveBeenLastCalledWith(expect.objectContaining({ queryType: 'anomaly', measurement: 'temperatures' }));
    expect(onRunQuery).toHaveBeenCalledTimes(1);
    expect(screen.getByLabelText('Detector description')).toHaveTextContent("Welch's t-test");
  });

  it('lists the six detectors, each with a one-line description, and picks one', async () => {
    const { latest, onRunQuery } = setup();
    fireEvent.keyDown(screen.getByLabelText('Detector'), { key: 'ArrowDown' });
    for (const d of DETECTORS) {
      expect(await screen.findAllByText(d.label!)).not.toHaveLength(0);
      expect(screen.getAllByText(d.description!)).not.toHaveLength(0);
    }
    expect(DETECTORS.map((d) => d.value)).toEqual(['ttest', 'zscore', 'mad', 'seasonal', 'holtwinters', 'peers']);
    fireEvent.click(screen.getByText('Peers'));
    expect(latest.query.detector).toBe('peers');
    expect(onRunQuery).toHaveBeenCalledTimes(1);
    expect(screen.getByLabelText('Detector description')).toHaveTextContent("the other series' median");
  });
});

describe('AnomalyEditor: each detector shows its settings only', () => {
  const all = ['History', 'Alpha', 'Threshold', 'Seasons', 'Level α', 'Trend β', 'Season γ'];
  it.each<[AnomalyDetector, string[], string]>([
    ['ttest', ['History', 'Alpha'], ''],
    ['zscore', ['History', 'Threshold'], '3'],
    ['mad', ['History', 'Threshold'], '3.5'],
    ['seasonal', ['Threshold', 'Seasons'], '3.5'],
    ['holtwinters', ['Threshold', 'Level α', 'Trend β', 'Season γ'], '3'],
    ['peers', ['Threshold'], '3.5'],
  ])('%s: %j', (detector, shown, threshold) => {
    setup({ detector });
    for (const label of all) {
      if (shown.includes(label)) {
        expect(screen.getByLabelText(label)).toBeInTheDocument();
      } else {
        expect(screen.queryByLabelText(label)).not.toBeInTheDocument();
      }
    }
    if (threshold) {
      expect(screen.getByLabelText('Threshold')).toHaveAttribute('placeholder', threshold);
    }
    // Every detector: the window and the shared filters.
    expect(screen.getByLabelText('Window')).toHaveAttribute('placeholder', '5m');
    expect(screen.getByLabelText('Min deviation')).toHaveAttribute('placeholder', '0');
    expect(screen.getByLabelText('above')).toBeInTheDocument();
    // The season for seasonal and holtwinters only.
    expect(!!screen.queryByLabelText('1w')).toBe(detector === 'seasonal' || detector === 'holtwinters');
    // pvalue and t: the t-test's outputs only.
    for (const output of ['score', 'anomaly', 'expected', 'band']) {
      expect(screen.getByLabelText(output)).toBeInTheDocument();
    }
    expect(!!screen.queryByLabelText('p-value')).toBe(detector === 'ttest');
    expect(!!screen.queryByLabelText('t')).toBe(detector === 'ttest');
    // mad needs every point: no windows read mode.
    expect(screen.getByLabelText('points')).toBeInTheDocument();
    expect(!!screen.queryByLabelText('windows')).toBe(detector !== 'mad');
  });

  it('commits a threshold and runs', () => {
    const { latest, onRunQuery } = setup({ detector: 'zscore' });
    type('Threshold', '4.5');
    expect(latest.query.threshold).toBe(4.5);
    expect(onRunQuery).toHaveBeenCalledTimes(1);
  });

  it('commits the season and the smoothing, run once all three are given', () => {
    const { latest, onRunQuery } = setup({ detector: 'holtwinters' });
    fireEvent.click(screen.getByLabelText('1w'));
    expect(onRunQuery).toHaveBeenCalledTimes(1);
    type('Level α', '0.3');
    type('Trend β', '0.1');
    expect(screen.getByText(/give hwGamma too/)).toBeInTheDocument();
    expect(onRunQuery).toHaveBeenCalledTimes(1);
    type('Season γ', '0.2');
    expect(latest.query).toMatchObject({ season: '1w', hwAlpha: 0.3, hwBeta: 0.1, hwGamma: 0.2 });
    expect(onRunQuery).toHaveBeenCalledTimes(2);
    expect(screen.queryByText(/too, or leave all three empty/)).not.toBeInTheDocument();
  });

  it('commits the seasons', () => {
    const { latest, onRunQuery } = setup({ detector: 'seasonal' });
    type('Seasons', '8');
    expect(latest.query.seasons).toBe(8);
    expect(onRunQuery).toHaveBeenCalledTimes(1);
  });

  it('commits the direction and the minimum deviation', () => {
    const { latest, onRunQuery } = setup();
    fireEvent.click(screen.getByLabelText('below'));
    type('Min deviation', '2.5');
    expect(latest.query).toMatchObject({ direction: 'below', minDeviation: 2.5 });
    expect(onRunQuery).toHaveBeenCalledTimes(2);
  });
});

describe('AnomalyEditor: validation messages beside the field', () => {
  it.each<[AnomalyDetector | Partial<VigilQuery>, string, string, RegExp]>([
    ['ttest', 'Alpha', '1.5', /Alpha must be between 0 and 1/],
    ['ttest', 'History', '1', /History must be a whole number of points from 2/],
    ['zscore', 'Window', '5 minutes', /Not a duration/],
    ['zscore', 'Threshold', '0', /threshold must be a number above 0/],
    ['mad', 'Threshold', 'three', /threshold must be a number above 0/],
    ['seasonal', 'Seasons', '0', /Seasons must be a whole number from 1 to 52/],
    ['seasonal', 'Window', '7m', /The window must divide the season \(1d\)/],
    [{ detector: 'seasonal', season: '1w', window: '1m' }, 'Seasons', '52', /52 seasons of 10080 windows are more than 131072 window means/],
    [{ detector: 'holtwinters', season: '1w' }, 'Window', '30s', /20160 windows per season \(1w\), more than 10080: use a longer window/],
    ['holtwinters', 'Trend β', '1', /Must be between 0 and 1 \(exclusive\), or empty/],
    ['holtwinters', 'Level α', '0.3', /Fitted together with the other two: give hwBeta and hwGamma too/],
    ['peers', 'Min deviation', '-1', /minimum deviation must be a number of at least 0/],
  ])('%j: %s %s', (detector, label, value, message) => {
    const { onRunQuery } = setup(typeof detector === 'string' ? { detector } : detector);
    type(label, value);
    expect(screen.getByText(message)).toBeInTheDocument();
    expect(onRunQuery).not.toHaveBeenCalled();
    // Nothing runs while a setting is invalid, whatever else changes.
    fireEvent.click(screen.getByLabelText('above'));
    expect(onRunQuery).not.toHaveBeenCalled();
  });

  it('keeps text that is no number out of the query', () => {
    const { latest } = setup({ detector: 'zscore', threshold: 4 });
    type('Threshold', 'four');
    expect(latest.query.threshold).toBe(4);
    expect(screen.getByText(/threshold must be a number above 0/)).toBeInTheDocument();
  });

  it('explains a saved output the detector cannot give', () => {
    setup({ detector: 'zscore', output: 'pvalue' });
    expect(screen.getByText(/pvalue is given only by the ttest detector/)).toBeInTheDocument();
  });

  it("explains a saved setting the detector does not show but the backend still checks", () => {
    setup({ detector: 'ttest', threshold: -1 });
    expect(screen.getByRole('alert', { name: 'Other settings' })).toHaveTextContent(/threshold: The threshold must be a number above 0/);
  });
});

describe('AnomalyEditor: changing the detector', () => {
  it.each<[string, Partial<VigilQuery>, AnomalyDetector, Partial<VigilQuery>]>([
    ['drops the t-test outputs', { output: 'pvalue', alpha: 0.01 }, 'zscore', { detector: 'zscore', output: undefined, alpha: undefined }],
    ['keeps an output every detector gives', { output: 'band' }, 'mad', { output: 'band' }],
    ['drops the windows read mode for mad', { detector: 'zscore', mode: 'windows', history: 500 }, 'mad', { mode: undefined, history: 500 }],
    ['drops the threshold, whose scale is the detector own', { detector: 'zscore', threshold: 4 }, 'mad', { threshold: undefined }],
    [
      'drops what the next detector does not read',
      { detector: 'holtwinters', season: '1w', hwAlpha: 0.2 },
      'seasonal',
      { season: '1w', hwAlpha: undefined },
    ],
    ['keeps the shared filters', { minDeviation: 2, direction: 'above' }, 'peers', { minDeviation: 2, direction: 'above', history: undefined }],
  ])('%s', (_name, query, next, want) => {
    const patched = { ...base, ...query, ...detectorPatch({ ...base, ...query }, next) };
    expect(patched).toMatchObject(want);
    for (const [k, v] of Object.entries(want)) {
      if (v === undefined) {
        expect(patched[k as keyof VigilQuery]).toBeUndefined();
      }
    }
  });

  it('keeps the settings when the same detector is picked again', async () => {
    const { onChange } = setup({ detector: 'zscore', threshold: 4 });
    await pickDetector('z-score');
    expect(onChange).not.toHaveBeenCalled();
    expect(screen.getByLabelText('Threshold')).toHaveValue('4');
  });

  it('empties the inputs of cleared settings', async () => {
    setup({ detector: 'zscore', threshold: 4 });
    expect(screen.getByLabelText('Threshold')).toHaveValue('4');
    await pickDetector('MAD');
    expect(screen.getByLabelText('Threshold')).toHaveValue('');
    expect(screen.getByLabelText('Threshold')).toHaveAttribute('placeholder', '3.5');
  });
});

describe('AnomalyEditor: the source', () => {
  it('reads InfluxDB by default, with the bucket and the schema pickers', async () => {
    setup();
    expect(screen.getByLabelText('Bucket')).toHaveAttribute('placeholder', 'printer/autogen');
    expect(screen.getByText('temperatures')).toBeInTheDocument();
    expect(screen.getByText('hotend')).toBeInTheDocument();
    await waitFor(() => expect(datasource.getResource).toHaveBeenCalledWith('fields', { measurement: 'temperatures' }));
  });

  it('reads a Kafka topic: its inputs as the kafka query, no bucket, read mode or Live', () => {
    const { latest, onRunQuery } = setup({ bucket: 'printer/autogen', live: true, mode: 'windows' });
    fireEvent.click(screen.getByLabelText('Kafka topic'));
    expect(screen.queryByLabelText('Bucket')).not.toBeInTheDocument();
    expect(screen.queryByLabelText('points')).not.toBeInTheDocument();
    expect(screen.queryByLabelText('Live')).not.toBeInTheDocument();
    expect(latest.query).toMatchObject({ bucket: undefined, live: undefined, mode: undefined });
    expect(onRunQuery).not.toHaveBeenCalled();
    type('Topic', 'printer');
    expect(latest.query.topic).toBe('printer');
    expect(onRunQuery).toHaveBeenCalledTimes(1);
    fireEvent.click(screen.getByLabelText('JSON'));
    expect(screen.getByLabelText('Time path')).toHaveAttribute('placeholder', 'time');
    expect(latest.query.format).toBe('json');
  });

  it('opens on the topic of a query that has one, and leaves it for InfluxDB', () => {
    const { latest, onRunQuery } = setup({ topic: 'printer', format: 'line' });
    expect(screen.getByLabelText('Topic')).toHaveValue('printer');
    fireEvent.click(screen.getByLabelText('InfluxDB'));
    expect(onRunQuery).toHaveBeenCalledTimes(1);
    expect(latest.query.topic).toBeUndefined();
    expect(latest.query.format).toBeUndefined();
    expect(screen.getByLabelText('Bucket')).toBeInTheDocument();
  });

  it.each<[string, Partial<VigilQuery>, VigilQuery['format']]>([
    ['the alert history table', { queryType: 'alerts', format: 'table' }, undefined],
    ['t-test annotations', { queryType: 'ttest', format: 'annotations' }, 'annotations'],
    ['a Kafka topic message format', { queryType: 'kafka', topic: 'printer', format: 'json' }, 'json'],
  ])('keeps a format the anomaly query takes when switched from %s', (_name, query, format) => {
    const { latest } = setup(query);
    fireEvent.click(screen.getByLabelText('Anomaly'));
    expect(latest.query.queryType).toBe('anomaly');
    expect(latest.query.format).toBe(format);
  });

  it('drops an anomaly output when switched to the t-test', () => {
    const { latest } = setup({ output: 'score' });
    fireEvent.click(screen.getByLabelText('t-test'));
    expect(latest.query).toMatchObject({ queryType: 'ttest', output: undefined });
  });
});

/** A response with frames of the given refIds and meta.custom counts. */
function response(frames: Array<{ refId?: string; custom?: Record<string, unknown> }>, extra: Partial<PanelData> = {}): PanelData {
  return {
    state: LoadingState.Done,
    series: frames.map((f) => ({ refId: f.refId, fields: [], length: 0, meta: f.custom ? { custom: f.custom } : undefined })),
    timeRange: {} as PanelData['timeRange'],
    ...extra,
  };
}

describe('AnomalyEditor: the preview', () => {
  it.each<[string, PanelData | undefined, ReturnType<typeof previewOf>]>([
    ['no response', undefined, { kind: 'none' }],
    ['frames without counts', response([{ refId: 'A', custom: { pointsRead: 10 } }]), { kind: 'none' }],
    [
      'one series',
      response([{ refId: 'A', custom: { windows: 12, anomalousWindows: 1 } }]),
      { kind: 'counts', anomalous: 1, windows: 12, series: 1 },
    ],
    [
      'series summed, other queries left out',
      response([
        { refId: 'A', custom: { windows: 100, anomalousWindows: 3 } },
        { refId: 'A', custom: { windows: 100, anomalousWindows: 1 } },
        { refId: 'B', custom: { windows: 50, anomalousWindows: 50 } },
      ]),
      { kind: 'counts', anomalous: 4, windows: 200, series: 2 },
    ],
    ['no series', response([{ refId: 'A', custom: { windows: 0, anomalousWindows: 0 } }]), { kind: 'counts', anomalous: 0, windows: 0, series: 0 }],
    [
      'this query failed',
      response([], { state: LoadingState.Error, errors: [{ refId: 'A', message: 'measurement "nope" has no field hotend' }] }),
      { kind: 'error', message: 'measurement "nope" has no field hotend' },
    ],
    [
      'another query failed',
      response([{ refId: 'A', custom: { windows: 5, anomalousWindows: 0 } }], { errors: [{ refId: 'B', message: 'boom' }] }),
      { kind: 'counts', anomalous: 0, windows: 5, series: 1 },
    ],
    ['the request failed', response([], { error: { message: 'timeout' } }), { kind: 'error', message: 'timeout' }],
  ])('%s', (_name, data, want) => {
    expect(previewOf(data, 'A')).toEqual(want);
  });

  it.each([
    [{ anomalous: 4, windows: 200, series: 2 }, '4 anomalous windows of 200 in this range across 2 series'],
    [{ anomalous: 1, windows: 12, series: 1 }, '1 anomalous window of 12 in this range'],
    [{ anomalous: 0, windows: 12, series: 1 }, '0 anomalous windows of 12 in this range'],
    [{ anomalous: 0, windows: 0, series: 0 }, 'No complete windows in this range'],
  ])('says %j as %s', (counts, text) => {
    expect(previewText(counts)).toBe(text);
  });

  it('shows the counts under the query', () => {
    setup({}, response([{ refId: 'A', custom: { windows: 288, anomalousWindows: 7 } }]));
    expect(screen.getByLabelText('Anomaly preview')).toHaveTextContent('7 anomalous windows of 288 in this range');
  });

  it('shows nothing before a response', () => {
    setup();
    expect(screen.queryByLabelText('Anomaly preview')).not.toBeInTheDocument();
  });

  it('shows the error when the query failed', () => {
    setup({}, response([], { state: LoadingState.Error, errors: [{ refId: 'A', message: 'the window must divide the season' }] }));
    expect(screen.getByRole('alert', { name: 'Anomaly preview' })).toHaveTextContent('the window must divide the season');
  });

  it('is not shown for other query types', () => {
    setup({ queryType: 'ttest' }, response([{ refId: 'A', custom: { windows: 288, anomalousWindows: 7 } }]));
    expect(screen.queryByLabelText('Anomaly preview')).not.toBeInTheDocument();
  });
});
