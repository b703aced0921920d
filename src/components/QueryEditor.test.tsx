import React from 'react';
import { fireEvent, render, screen, waitFor } from '@testing-library/react';

import { QueryEditor } from './QueryEditor';
import { DataSource } from '../datasource';
import { DEFAULT_FLUX, VigilQuery } from '../types';

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
    ['Window', '5 minutes', /Write a duration/],
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

  it('warns when names cannot form a Live channel path', () => {
    setup({ live: true, measurement: 'printer temps' });
    expect(screen.getByText(/Live needs measurement and field names/)).toBeInTheDocument();
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
