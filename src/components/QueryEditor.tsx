import React, { ChangeEvent } from 'react';
import { QueryEditorProps } from '@grafana/data';
import { CodeEditor, InlineField, InlineFieldRow, Input } from '@grafana/ui';

import { DataSource } from '../datasource';
import { DEFAULT_QUERY, VigilOptions, VigilQuery } from '../types';

type Props = QueryEditorProps<DataSource, VigilQuery, VigilOptions>;

/** Edits a raw Flux query. The script runs when the editor loses focus. */
export function QueryEditor({ query, onChange, onRunQuery, datasource }: Props) {
  const flux = query.flux ?? DEFAULT_QUERY.flux ?? '';
  const update = (patch: Partial<VigilQuery>) => onChange({ ...query, queryType: 'flux', ...patch });

  return (
    <>
      <InlineFieldRow>
        <InlineField
          label="Bucket"
          labelWidth={12}
          tooltip="The bucket that v.bucket names in the script. Empty: the data source's default bucket."
        >
          <Input
            id={`vigil-bucket-${query.refId}`}
            width={30}
            value={query.bucket ?? ''}
            placeholder={datasource.defaultBucket || 'default bucket'}
            onChange={(e: ChangeEvent<HTMLInputElement>) => update({ bucket: e.currentTarget.value })}
            onBlur={onRunQuery}
          />
        </InlineField>
      </InlineFieldRow>
      <CodeEditor
        value={flux}
        language="sql"
        height={200}
        showLineNumbers
        showMiniMap={false}
        onBlur={(value) => {
          update({ flux: value });
          onRunQuery();
        }}
        onSave={(value) => {
          update({ flux: value });
          onRunQuery();
        }}
      />
    </>
  );
}
