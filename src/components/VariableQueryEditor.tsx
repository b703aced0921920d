import React, { ChangeEvent, useState } from 'react';
import { SelectableValue } from '@grafana/data';
import { InlineField, InlineFieldRow, Input, RadioButtonGroup } from '@grafana/ui';

import { DataSource } from '../datasource';
import { VigilVariableQuery } from '../types';

const KINDS: Array<SelectableValue<VigilVariableQuery['kind']>> = [
  { label: 'Measurements', value: 'measurements' },
  { label: 'Fields', value: 'fields' },
  { label: 'Tag values', value: 'tagValues' },
];

interface Props {
  query: VigilVariableQuery;
  datasource: DataSource;
  onChange: (query: VigilVariableQuery, definition: string) => void;
}

/** Describes a variable query in one line, as Grafana lists variables. */
export function describeVariableQuery(q: VigilVariableQuery): string {
  switch (q.kind) {
    case 'fields':
      return `fields of ${q.measurement ?? '?'}`;
    case 'tagValues':
      return `values of tag ${q.key ?? '?'} in ${q.measurement ?? '?'}`;
    default:
      return `measurements${q.bucket ? ' in ' + q.bucket : ''}`;
  }
}

/** Edits a template variable's query: measurements, fields, or tag values. */
export function VariableQueryEditor({ query, onChange }: Props) {
  const [draft, setDraft] = useState<VigilVariableQuery>({ ...query, kind: query?.kind ?? 'measurements' });
  const commit = (patch: Partial<VigilVariableQuery>) => {
    const next = { ...draft, ...patch };
    setDraft(next);
    onChange(next, describeVariableQuery(next));
  };
  const text = (label: string, key: 'bucket' | 'measurement' | 'key', placeholder: string) => (
    <InlineField label={label} labelWidth={14}>
      <Input
        aria-label={label}
        width={30}
        value={draft[key] ?? ''}
        placeholder={placeholder}
        onChange={(e: ChangeEvent<HTMLInputElement>) => setDraft({ ...draft, [key]: e.currentTarget.value })}
        onBlur={() => commit({})}
      />
    </InlineField>
  );
  return (
    <>
      <InlineFieldRow>
        <InlineField label="List" labelWidth={14}>
          <RadioButtonGroup options={KINDS} value={draft.kind} onChange={(kind) => commit({ kind })} />
        </InlineField>
      </InlineFieldRow>
      <InlineFieldRow>
        {text('Bucket', 'bucket', 'default bucket')}
        {draft.kind !== 'measurements' && text('Measurement', 'measurement', 'temperatures')}
        {draft.kind === 'tagValues' && text('Tag key', 'key', 'printer')}
      </InlineFieldRow>
    </>
  );
}
