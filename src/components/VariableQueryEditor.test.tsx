import React from 'react';
import { fireEvent, render, screen } from '@testing-library/react';

import { describeVariableQuery, VariableQueryEditor } from './VariableQueryEditor';
import { DataSource } from '../datasource';

describe('VariableQueryEditor', () => {
  it('lists measurements by default and switches to tag values', () => {
    const onChange = jest.fn();
    render(<VariableQueryEditor query={{} as never} datasource={{} as DataSource} onChange={onChange} />);
    expect(screen.queryByLabelText('Tag key')).not.toBeInTheDocument();
    fireEvent.click(screen.getByLabelText('Tag values'));
    expect(onChange).toHaveBeenLastCalledWith({ kind: 'tagValues' }, 'values of tag ? in ?');
    fireEvent.change(screen.getByLabelText('Measurement'), { target: { value: 'temperatures' } });
    fireEvent.change(screen.getByLabelText('Tag key'), { target: { value: 'printer' } });
    fireEvent.blur(screen.getByLabelText('Tag key'));
    expect(onChange).toHaveBeenLastCalledWith(
      { kind: 'tagValues', measurement: 'temperatures', key: 'printer' },
      'values of tag printer in temperatures'
    );
  });

  it('describes each kind', () => {
    expect(describeVariableQuery({ kind: 'fields', measurement: 'm' })).toBe('fields of m');
    expect(describeVariableQuery({ kind: 'measurements', bucket: 'b' })).toBe('measurements in b');
  });
});
