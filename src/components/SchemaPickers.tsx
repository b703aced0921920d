import React from 'react';
import { SelectableValue } from '@grafana/data';
import { Button, IconButton, InlineField, InlineFieldRow, MultiSelect, Select } from '@grafana/ui';

import { DataSource } from '../datasource';
import { useSchema } from './useSchema';

/** Label width of every row of Vigil's query editor (fits "Active power"). */
export const LABEL = 14;

interface PickerProps {
  datasource: DataSource;
  bucket?: string;
}

/** A measurement picker listing the bucket's measurements; any name can be typed. */
export function MeasurementPicker({
  datasource,
  bucket,
  value,
  placeholder,
  onChange,
}: PickerProps & { value?: string; placeholder: string; onChange: (v?: string) => void }) {
  const options = useSchema(datasource, 'measurements', { bucket });
  return (
    <InlineField label="Measurement" labelWidth={LABEL}>
      <Select
        aria-label="Measurement"
        width={30}
        options={options}
        value={value ? { label: value, value } : null}
        placeholder={placeholder}
        allowCustomValue
        isClearable
        onChange={(v: SelectableValue<string> | null) => onChange(v?.value)}
      />
    </InlineField>
  );
}

/** A multi-field picker listing the measurement's numeric fields. */
export function FieldsPicker({
  datasource,
  bucket,
  measurement,
  value,
  onChange,
}: PickerProps & { measurement?: string; value: string[]; onChange: (v: string[]) => void }) {
  const options = useSchema(datasource, 'fields', { bucket, measurement }, ['measurement']).filter(
    (o) => o.description === 'float' || o.description === 'integer'
  );
  return (
    <InlineField label="Fields" labelWidth={LABEL} tooltip="One series per field: numeric fields of the measurement.">
      <MultiSelect
        aria-label="Fields"
        width={40}
        options={options}
        value={value.map((f) => ({ label: f, value: f }))}
        placeholder="hotend, bed, air"
        allowCustomValue
        onChange={(v: Array<SelectableValue<string>>) => onChange(v.map((o) => o.value ?? '').filter((f) => f !== ''))}
      />
    </InlineField>
  );
}

function TagRow({
  datasource,
  bucket,
  measurement,
  tagKey,
  tagValue,
  onChange,
  onRemove,
}: PickerProps & {
  measurement?: string;
  tagKey: string;
  tagValue: string;
  onChange: (k: string, v: string) => void;
  onRemove: () => void;
}) {
  const keys = useSchema(datasource, 'tag-keys', { bucket, measurement }, ['measurement']);
  const values = useSchema(datasource, 'tag-values', { bucket, measurement, key: tagKey }, ['measurement', 'key']);
  return (
    <InlineFieldRow>
      <InlineField label="Tag" labelWidth={LABEL}>
        <Select
          aria-label="Tag key"
          width={20}
          options={keys}
          value={tagKey ? { label: tagKey, value: tagKey } : null}
          allowCustomValue
          onChange={(v: SelectableValue<string>) => onChange(v.value ?? '', tagValue)}
        />
      </InlineField>
      <InlineField label="=">
        <Select
          aria-label="Tag value"
          width={24}
          options={values}
          value={tagValue ? { label: tagValue, value: tagValue } : null}
          allowCustomValue
          onChange={(v: SelectableValue<string>) => onChange(tagKey, v.value ?? '')}
        />
      </InlineField>
      <IconButton name="trash-alt" aria-label="Remove tag filter" onClick={onRemove} />
    </InlineFieldRow>
  );
}

/** Tag equality filters (tag = value), each picked from what InfluxDB holds. */
export function TagsPicker({
  datasource,
  bucket,
  measurement,
  value,
  onChange,
}: PickerProps & { measurement?: string; value?: Record<string, string>; onChange: (v: Record<string, string>) => void }) {
  const rows = Object.entries(value ?? {});
  const set = (entries: Array<[string, string]>) => onChange(Object.fromEntries(entries));
  return (
    <>
      {rows.map(([k, v], i) => (
        <TagRow
          key={i}
          datasource={datasource}
          bucket={bucket}
          measurement={measurement}
          tagKey={k}
          tagValue={v}
          onChange={(nk, nv) => set(rows.map((r, j) => (j === i ? [nk, nv] : r)))}
          onRemove={() => set(rows.filter((_, j) => j !== i))}
        />
      ))}
      <Button variant="secondary" size="sm" icon="plus" onClick={() => set([...rows, ['', '']])}>
        Tag filter
      </Button>
    </>
  );
}
