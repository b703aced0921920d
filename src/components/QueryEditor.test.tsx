import React from 'react';
import { act, fireEvent, render, screen, waitFor } from '@testing-library/react';

import { QueryEditor } from './QueryEditor';
import { DataSource } from '../datasource';
import { DEFAULT_FLUX, DEFAULT_INFLUXQL, VigilQuery } from '../types';

// Monaco does not run in jsdom: CodeEditor becomes a textarea that reports
// blur as CodeEditor does and records the actions the editor adds on mount.
type MockAction = { id: string; keybindings?: number[]; run: () => void };
const mockActions: MockAction[] = [];
const MOCK_MONACO = { KeyMod: { CtrlCmd: 2048 }, KeyCode: { Enter: 3 } };
function MockCodeEditor(props: {
  value: string;
  language?: string;
  onBlur?: (text: string) => void;
  onEditorDidMount?: (editor: unknown, monaco: unknown) => void;
}) {
  const [text, setText] = React.useState(props.value);
  const latest = React.useRef(text);
  latest.current = text;
  const mounted = React.useRef(false);
  if (!mounted.current) {
    mounted.current = true;
    props.onEditorDidMount?.({ getValue: () => latest.current, addAction: (a: MockAction) => mockActions.push(a) }, MOCK_MONACO);
  }
  return (
    <textarea
      aria-label="Code editor"
      data-language={props.language}
      value={text}
      onChange={(e) => setText(e.currentTarget.value)}
      onBlur={() => props.onBlur?.(text)}
    />
  );
}
jest.mock('@grafana/ui', () => ({
  ...jest.requireActual('@grafana/ui'),
  CodeEditor: (props: Parameters<typeof MockCodeEditor>[0]) => MockCodeEditor(props),
}));

const resources: Record<string, unknown> = {
  measurements: ['house', 'temperatures'],
  fields: [
    { name: 'air', type: 'float' },
    { name: 'bed', type: 'float' },
    { name: 'state', type: 'string' },
  ],
  'tag-keys': ['printer'],
  'tag-values': ['mk3', 'mk4'],
};
const getResource = jest.fn((path: string) => Promise.resolve(resources[path]));
const datasource = { defaultBucket: 'printer/autogen', getResource } as unknown as DataSource;

function setup(query: Partial<VigilQuery> = {}) {
  const onChange = jest.fn();
  const onRunQuery = jest.fn();
  const full: VigilQuery = { refId: 'A', queryType: 'ttest', measurement: 'temperatures', fields: ['hotend'], ...query };
  render(<QueryEditor query={full} onChange={onChange} onRunQuery={onRunQuery} datasource={datasource} />);
  return { onChange, onRunQuery };
}

describe('QueryEditor', () => {
  it('shows the t-test inputs with the defaults', () => {
    setup();
    expect(screen.getByText('temperatures')).toBeInTheDocument();
    expect(screen.getByLabelText('Window')).toHaveValue('5m');
    expect(screen.getByLabelText('History')).toHaveValue('3600');
    expect(screen.getByLabelText('Alpha')).toHaveValue('0.001');
    expect(screen.getByText('hotend')).toBeInTheDocument();
    expect(screen.getByLabelText('Bucket')).toHaveAttribute('placeholder', 'printer/autogen');
  });

  it('switches to Flux with the default script', () => {
    const { onChange, onRunQuery } = setup();
    fireEvent.click(screen.getByLabelText('Flux'));
    expect(onChange).toHaveBeenCalledWith(expect.objectContaining({ queryType: 'flux', flux: DEFAULT_FLUX }));
    expect(onRunQuery).toHaveBeenCalled();
  });

  it('shows no t-test inputs for a Flux query', () => {
    setup({ queryType: 'flux', flux: 'buckets()' });
    expect(screen.queryByLabelText('Alpha')).not.toBeInTheDocument();
    expect(screen.queryByLabelText('Measurement')).not.toBeInTheDocument();
  });

  it('runs the query when a valid alpha is committed', () => {
    const { onChange, onRunQuery } = setup();
    const alpha = screen.getByLabelText('Alpha');
    fireEvent.change(alpha, { target: { value: '0.05' } });
    expect(onRunQuery).not.toHaveBeenCalled();
    fireEvent.blur(alpha);
    expect(onChange).toHaveBeenLastCalledWith(expect.objectContaining({ alpha: 0.05 }));
    expect(onRunQuery).toHaveBeenCalledTimes(1);
  });

  it.each([
    ['Alpha', '1.5', /Alpha must be between 0 and 1/],
    ['Alpha', '0', /Alpha must be between 0 and 1/],
    ['Window', '5 minutes', /Not a duration/],
    ['Window', '0s', /longer than zero/],
    ['History', '1', /History must be a whole number/],
  ])('explains an invalid %s (%s) and does not run', (label, value, message) => {
    const { onRunQuery } = setup();
    const input = screen.getByLabelText(label);
    fireEvent.change(input, { target: { value } });
    fireEvent.blur(input);
    expect(screen.getByText(message)).toBeInTheDocument();
    expect(onRunQuery).not.toHaveBeenCalled();
  });

  it('changes the output', () => {
    const { onChange, onRunQuery } = setup();
    fireEvent.click(screen.getByLabelText('anomaly'));
    expect(onChange).toHaveBeenLastCalledWith(expect.objectContaining({ output: 'anomaly' }));
    expect(onRunQuery).toHaveBeenCalled();
  });
});

describe('QueryEditor for power and alert history', () => {
  it('shows the power inputs with the contract defaults', () => {
    setup({ queryType: 'power', measurement: 'power' });
    expect(screen.getByText('power')).toBeInTheDocument();
    expect(screen.getByLabelText('Active power')).toHaveAttribute('placeholder', 'Global_active_power');
    expect(screen.getByText('Sub_metering_3')).toBeInTheDocument();
    expect(screen.queryByLabelText('Alpha')).not.toBeInTheDocument();
  });

  it('changes the aggregate and runs', () => {
    const { onChange, onRunQuery } = setup({ queryType: 'power', measurement: 'power' });
    fireEvent.click(screen.getByLabelText('max'));
    expect(onChange).toHaveBeenLastCalledWith(expect.objectContaining({ aggregate: 'max' }));
    expect(onRunQuery).toHaveBeenCalled();
  });

  it('picks the alert history format', () => {
    const { onChange } = setup({ queryType: 'alerts' });
    fireEvent.click(screen.getByLabelText('annotations'));
    expect(onChange).toHaveBeenLastCalledWith(expect.objectContaining({ format: 'annotations' }));
  });
});

describe('Live switch', () => {
  it('turns live streaming on', () => {
    const { onChange, onRunQuery } = setup();
    fireEvent.click(screen.getByLabelText('Live'));
    expect(onChange).toHaveBeenLastCalledWith(expect.objectContaining({ live: true }));
    expect(onRunQuery).toHaveBeenCalled();
  });

});

describe('Schema pickers', () => {
  beforeEach(() => getResource.mockClear());

  it('lists the measurements the resource returns and picks one', async () => {
    const { onChange, onRunQuery } = setup({ measurement: undefined, fields: [] });
    await waitFor(() => expect(getResource).toHaveBeenCalledWith('measurements', {}));
    fireEvent.keyDown(screen.getByLabelText('Measurement'), { key: 'ArrowDown' });
    expect(await screen.findByText('house')).toBeInTheDocument();
    fireEvent.click(screen.getByText('house'));
    expect(onChange).toHaveBeenLastCalledWith(expect.objectContaining({ measurement: 'house' }));
    expect(onRunQuery).toHaveBeenCalled();
  });

  it('lists only numeric fields of the measurement', async () => {
    const { onChange } = setup({ bucket: 'printer/autogen', fields: [] });
    await waitFor(() => expect(getResource).toHaveBeenCalledWith('fields', { bucket: 'printer/autogen', measurement: 'temperatures' }));
    fireEvent.keyDown(screen.getByLabelText('Fields'), { key: 'ArrowDown' });
    expect(await screen.findByText('bed')).toBeInTheDocument();
    expect(screen.queryByText('state')).not.toBeInTheDocument();
    fireEvent.click(screen.getByText('bed'));
    expect(onChange).toHaveBeenLastCalledWith(expect.objectContaining({ fields: ['bed'] }));
  });

  it('adds a tag filter from the tag keys and values', async () => {
    const { onChange } = setup({ tags: { printer: '' } });
    await waitFor(() => expect(getResource).toHaveBeenCalledWith('tag-keys', { measurement: 'temperatures' }));
    await waitFor(() => expect(getResource).toHaveBeenCalledWith('tag-values', { measurement: 'temperatures', key: 'printer' }));
    fireEvent.keyDown(screen.getByLabelText('Tag value'), { key: 'ArrowDown' });
    fireEvent.click(await screen.findByText('mk4'));
    expect(onChange).toHaveBeenLastCalledWith(expect.objectContaining({ tags: { printer: 'mk4' } }));
  });

  it('shows the executed query on demand', () => {
    const onChange = jest.fn();
    const data = { series: [{ fields: [], length: 0, meta: { executedQueryString: 'from(bucket: "printer")' } }] };
    render(
      <QueryEditor
        query={{ refId: 'A', queryType: 'ttest', measurement: 'temperatures', fields: ['hotend'] }}
        onChange={onChange}
        onRunQuery={jest.fn()}
        datasource={datasource}
        data={data as never}
      />
    );
    expect(screen.queryByLabelText('Executed query')).not.toBeInTheDocument();
    fireEvent.click(screen.getByText('Executed query'));
    expect(screen.getByLabelText('Executed query')).toHaveTextContent('from(bucket: "printer")');
  });
});

describe('QueryEditor for InfluxQL', () => {
  beforeEach(() => {
    mockActions.length = 0;
  });

  it.each<[string, string | undefined, string]>([
    ['no statement', undefined, DEFAULT_INFLUXQL],
    ['an empty statement', '', DEFAULT_INFLUXQL],
    ['a blank statement', '  \n', DEFAULT_INFLUXQL],
    ['a statement', 'SELECT last("bed") FROM "temperatures" WHERE $timeFilter', 'SELECT last("bed") FROM "temperatures" WHERE $timeFilter'],
  ])('switches to InfluxQL from a query with %s', (_name, influxql, want) => {
    // From alert history: its editor loads nothing, the t-test's pickers would.
    const { onChange, onRunQuery } = setup({ queryType: 'alerts', influxql });
    fireEvent.click(screen.getByLabelText('InfluxQL'));
    expect(onChange).toHaveBeenCalledWith(expect.objectContaining({ queryType: 'influxql', influxql: want, measurement: 'temperatures' }));
    expect(onRunQuery).toHaveBeenCalled();
  });

  it('starts from a default statement that uses the macros', () => {
    expect(DEFAULT_INFLUXQL).toMatch(/^SELECT /);
    expect(DEFAULT_INFLUXQL).toContain('$timeFilter');
    expect(DEFAULT_INFLUXQL).toContain('$__interval');
  });

  it('keeps the Flux script when switching to InfluxQL', () => {
    const { onChange } = setup({ queryType: 'flux', flux: 'buckets()' });
    fireEvent.click(screen.getByLabelText('InfluxQL'));
    expect(onChange).toHaveBeenLastCalledWith(expect.objectContaining({ queryType: 'influxql', flux: 'buckets()', influxql: DEFAULT_INFLUXQL }));
  });

  it('shows the statement in a code editor, the macros, and no t-test inputs', () => {
    setup({ queryType: 'influxql', influxql: 'SHOW MEASUREMENTS' });
    expect(screen.getByLabelText('Code editor')).toHaveValue('SHOW MEASUREMENTS');
    expect(screen.getByLabelText('Code editor')).toHaveAttribute('data-language', 'sql');
    const help = screen.getByLabelText('InfluxQL help');
    for (const macro of ['$timeFilter', '$__interval', '$__interval_ms']) {
      expect(help).toHaveTextContent(macro);
    }
    expect(screen.getByLabelText('Bucket')).toBeInTheDocument();
    expect(screen.queryByLabelText('Alpha')).not.toBeInTheDocument();
    expect(screen.queryByLabelText('Measurement')).not.toBeInTheDocument();
    expect(screen.queryByLabelText('Active power')).not.toBeInTheDocument();
  });

  it('shows the default statement for an InfluxQL query without one', () => {
    setup({ queryType: 'influxql' });
    expect(screen.getByLabelText('Code editor')).toHaveValue(DEFAULT_INFLUXQL);
  });

  it('commits and runs the statement when the editor loses focus', () => {
    const { onChange, onRunQuery } = setup({ queryType: 'influxql', influxql: 'SHOW MEASUREMENTS' });
    const editor = screen.getByLabelText('Code editor');
    fireEvent.change(editor, { target: { value: 'SELECT * FROM "cpu" WHERE $timeFilter' } });
    expect(onRunQuery).not.toHaveBeenCalled();
    fireEvent.blur(editor);
    expect(onChange).toHaveBeenLastCalledWith(expect.objectContaining({ queryType: 'influxql', influxql: 'SELECT * FROM "cpu" WHERE $timeFilter' }));
    expect(onRunQuery).toHaveBeenCalledTimes(1);
  });

  it.each([
    ['influxql', 'SELECT 1', 'influxql'],
    ['flux', 'buckets()', 'flux'],
  ] as const)('runs a %s query on Ctrl/Cmd+Enter with the latest query', (queryType, text, field) => {
    const onChange = jest.fn();
    const onRunQuery = jest.fn();
    const query: VigilQuery = { refId: 'A', queryType };
    const { rerender } = render(<QueryEditor query={query} onChange={onChange} onRunQuery={onRunQuery} datasource={datasource} />);
    // The action is added once, when the editor mounts; a later bucket must not be lost.
    rerender(<QueryEditor query={{ ...query, bucket: 'house/autogen' }} onChange={onChange} onRunQuery={onRunQuery} datasource={datasource} />);
    fireEvent.change(screen.getByLabelText('Code editor'), { target: { value: text } });
    expect(mockActions).toHaveLength(1);
    expect(mockActions[0].keybindings).toEqual([MOCK_MONACO.KeyMod.CtrlCmd | MOCK_MONACO.KeyCode.Enter]);
    act(() => mockActions[0].run());
    expect(onChange).toHaveBeenLastCalledWith({ refId: 'A', queryType, bucket: 'house/autogen', [field]: text });
    expect(onRunQuery).toHaveBeenCalledTimes(1);
  });

  it('edits a kafka query: topic, format, fields and tags typed in, t-test settings shared', async () => {
    const { onChange, onRunQuery } = setup({ queryType: 'kafka', topic: 'printer', fields: ['hotend'] });
    expect(screen.queryByLabelText('Read')).not.toBeInTheDocument();
    const topic = screen.getByLabelText('Topic');
    fireEvent.change(topic, { target: { value: 'telemetry' } });
    fireEvent.blur(topic);
    expect(onChange).toHaveBeenLastCalledWith(expect.objectContaining({ topic: 'telemetry' }));
    expect(onRunQuery).toHaveBeenCalled();
    fireEvent.click(screen.getByText('JSON'));
    expect(onChange).toHaveBeenLastCalledWith(expect.objectContaining({ format: 'json', measurement: undefined }));
    await act(async () => {
      fireEvent.change(screen.getByLabelText('Window'), { target: { value: '5 minutes' } });
    });
    expect(screen.getByText(/Not a duration/)).toBeInTheDocument();
  });
});
