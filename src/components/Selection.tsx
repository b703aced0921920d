import React, { ChangeEvent } from 'react';
import { SelectableValue } from '@grafana/data';
import { InlineField, InlineFieldRow, InlineSwitch, Input, RadioButtonGroup, TagsInput } from '@grafana/ui';

import { DataSource } from '../datasource';
import { FieldsPicker, LABEL, MeasurementPicker, TagsPicker } from './SchemaPickers';
import { DEFAULT_KAFKA, KafkaFormat, VigilQuery } from '../types';
import rules from '../validation.json';

// What selects the series of the t-test, kafka and anomaly queries, shared by
// their editors: InfluxDB's bucket, measurement, fields and tags (listed from
// the schema), or a Kafka topic's message format and paths (typed in: a topic
// has no schema to list).

/** A choice field's options, in validation.json's order, with the editor's words for them. */
export function choices<T extends string>(
  field: keyof typeof rules.options,
  words: Partial<Record<string, SelectableValue<T>>>
): Array<SelectableValue<T>> {
  return rules.options[field].map((value) => ({ label: value, ...words[value], value: value as T }));
}

export const KAFKA_FORMATS = choices<KafkaFormat>('kafkaFormat', {
  line: { label: 'line protocol', description: 'InfluxDB line protocol, nanosecond timestamps' },
  json: { label: 'JSON', description: 'one object per message, with paths to the time, key and fields' },
});

/** Commits a change to the query (and runs it when the editor's settings are valid). */
export type Commit = (patch: Partial<VigilQuery>) => void;

interface SelectionProps {
  query: VigilQuery;
  datasource: DataSource;
  onChange: (query: VigilQuery) => void;
  commit: Commit;
  /** Runs the query after a text input loses focus (when the editor's settings are valid). */
  onRun: () => void;
}

/** The bucket to read; empty: the data source's default bucket. */
export function BucketInput({ query, datasource, onChange, onRun }: Omit<SelectionProps, 'commit'>) {
  return (
    <InlineField label="Bucket" labelWidth={LABEL} tooltip="Empty: the data source's default bucket.">
      <Input
        aria-label="Bucket"
        width={24}
        value={query.bucket ?? ''}
        placeholder={datasource.defaultBucket || 'default bucket'}
        onChange={(e: ChangeEvent<HTMLInputElement>) => onChange({ ...query, bucket: e.currentTarget.value })}
        onBlur={onRun}
      />
    </InlineField>
  );
}

/** The query's measurement, listed from its bucket's schema. */
export function QueryMeasurement({
  query,
  datasource,
  commit,
  placeholder,
}: Pick<SelectionProps, 'query' | 'datasource' | 'commit'> & { placeholder: string }) {
  return (
    <MeasurementPicker
      datasource={datasource}
      bucket={query.bucket}
      value={query.measurement}
      placeholder={placeholder}
      onChange={(measurement) => commit({ measurement })}
    />
  );
}

/** InfluxDB series: a measurement, its numeric fields and tag filters, listed from the bucket's schema. */
export function InfluxSelection({ query, datasource, commit }: Pick<SelectionProps, 'query' | 'datasource' | 'commit'>) {
  return (
    <>
      <InlineFieldRow>
        <QueryMeasurement query={query} datasource={datasource} commit={commit} placeholder="temperatures" />
        <FieldsPicker
          datasource={datasource}
          bucket={query.bucket}
          measurement={query.measurement}
          value={query.fields ?? []}
          onChange={(fields) => commit({ fields })}
        />
      </InlineFieldRow>
      <TagsPicker
        datasource={datasource}
        bucket={query.bucket}
        measurement={query.measurement}
        value={query.tags}
        onChange={(tags) => commit({ tags })}
      />
    </>
  );
}

/**
 * A Kafka topic's series: the topic, its message format (line protocol, or
 * JSON with paths to the time and key) and the fields and tag filters.
 */
export function KafkaSelection({ query, onChange, commit, onRun }: Omit<SelectionProps, 'datasource'>) {
  const format = (query.format as KafkaFormat | undefined) ?? DEFAULT_KAFKA.format;
  const text = (label: string, key: 'topic' | 'measurement' | 'timePath' | 'keyPath', placeholder: string, tooltip: string) => (
    <InlineField label={label} labelWidth={LABEL} tooltip={tooltip}>
      <Input
        aria-label={label}
        width={24}
        value={query[key] ?? ''}
        placeholder={placeholder}
        onChange={(e: ChangeEvent<HTMLInputElement>) => onChange({ ...query, [key]: e.currentTarget.value })}
        onBlur={onRun}
      />
    </InlineField>
  );
  return (
    <>
      <InlineFieldRow>
        {text('Topic', 'topic', 'printer', "The topic's retained messages answer a time range; Live follows new ones.")}
        <InlineField label="Format" labelWidth={LABEL}>
          <RadioButtonGroup
            options={KAFKA_FORMATS}
            value={format}
            onChange={(f) => commit(f === 'line' ? { format: f, timePath: undefined, keyPath: undefined } : { format: f, measurement: undefined })}
          />
        </InlineField>
      </InlineFieldRow>
      <InlineFieldRow>
        {format === 'line'
          ? text('Measurement', 'measurement', 'temperatures', 'Lines of other measurements are passed over.')
          : (
              <>
                {text('Time path', 'timePath', DEFAULT_KAFKA.timePath, 'Dot-separated path to an RFC 3339 time or Unix milliseconds.')}
                {text('Key path', 'keyPath', 'message key', 'Dot-separated path to the series key; empty: the message key.')}
              </>
            )}
        <InlineField label="Fields" labelWidth={LABEL} tooltip={format === 'line' ? 'Numeric fields, one series each.' : 'Dot-separated paths to numbers.'}>
          <TagsInput tags={query.fields ?? []} onChange={(fields: string[]) => commit({ fields })} />
        </InlineField>
      </InlineFieldRow>
      <InlineFieldRow>
        <InlineField label="Tags" labelWidth={LABEL} tooltip="key=value filters (json: the key path's last name, or key).">
          <TagsInput
            tags={Object.entries(query.tags ?? {}).map(([k, v]) => `${k}=${v}`)}
            onChange={(pairs: string[]) => commit({ tags: tagsOf(pairs) })}
          />
        </InlineField>
      </InlineFieldRow>
    </>
  );
}

const SERIES_FORMATS: Array<SelectableValue<string>> = [
  { label: 'time series', value: '' },
  { label: 'annotations', value: 'annotations', description: 'anomalous windows as regions' },
];

/** The t-test's and anomaly query's output format: time series (empty) or annotations. */
export function SeriesFormat({ query, commit }: Pick<SelectionProps, 'query' | 'commit'>) {
  return (
    <InlineField label="Format" labelWidth={LABEL}>
      <RadioButtonGroup
        options={SERIES_FORMATS}
        value={query.format ?? ''}
        onChange={(format) => commit({ format: (format || undefined) as VigilQuery['format'] })}
      />
    </InlineField>
  );
}

/** The Live switch: stream each window over Grafana Live instead of querying on refresh. */
export function LiveSwitch({ query, commit }: Pick<SelectionProps, 'query' | 'commit'>) {
  return (
    <InlineField
      label="Live"
      labelWidth={LABEL}
      tooltip="Stream each window as it completes (Grafana Live), instead of querying on refresh."
    >
      <InlineSwitch
        aria-label="Live"
        value={!!query.live}
        onChange={(e: React.FormEvent<HTMLInputElement>) => commit({ live: e.currentTarget.checked })}
      />
    </InlineField>
  );
}

/** key=value entries as a tag filter; an entry without "=" is a key with an empty value. */
export function tagsOf(pairs: string[]): Record<string, string> | undefined {
  const tags = Object.fromEntries(
    pairs.map((p) => {
      const i = p.indexOf('=');
      return i < 0 ? [p.trim(), ''] : [p.slice(0, i).trim(), p.slice(i + 1).trim()];
    })
  );
  return Object.keys(tags).length > 0 ? tags : undefined;
}

/** A text input checked as it is typed; the change is committed on blur. */
export function CheckedInput(props: {
  label: string;
  tooltip: string;
  value: string;
  placeholder?: string;
  error?: string;
  width?: number;
  onChange: (value: string) => void;
  onCommit: () => void;
}) {
  return (
    <InlineField label={props.label} labelWidth={LABEL} invalid={!!props.error} error={props.error} tooltip={props.tooltip}>
      <Input
        aria-label={props.label}
        width={props.width ?? 12}
        value={props.value}
        placeholder={props.placeholder}
        onChange={(e: ChangeEvent<HTMLInputElement>) => props.onChange(e.currentTarget.value)}
        onBlur={props.onCommit}
      />
    </InlineField>
  );
}
