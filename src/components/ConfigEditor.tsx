import React, { ChangeEvent } from 'react';
import { DataSourcePluginOptionsEditorProps, SelectableValue } from '@grafana/data';
import { Field, FieldSet, Input, RadioButtonGroup, SecretInput, Switch } from '@grafana/ui';

import { DEFAULT_SETTINGS, KafkaSaslMechanism, VigilOptions, VigilSecureJsonData } from '../types';
import { brokersError, bucketError, positiveNumberError, urlError } from '../validation';
import rules from '../validation.json';

const SASL: Array<SelectableValue<KafkaSaslMechanism>> = rules.options.kafkaSaslMechanism.map((m) => ({
  label: m || 'none',
  value: m as KafkaSaslMechanism,
}));

type Props = DataSourcePluginOptionsEditorProps<VigilOptions, VigilSecureJsonData>;

const WIDTH = 60;

type NumberSetting =
  | 'timeout'
  | 'maxPoints'
  | 'stateMaxMB'
  | 'stateHorizonWindows'
  | 'kafkaLiveIdleSeconds'
  | 'kafkaFutureToleranceSeconds';
type TextSetting =
  | 'organization'
  | 'defaultBucket'
  | 'user'
  | 'alertHistoryBucket'
  | 'alertHistoryMeasurement'
  | 'kafkaBrokers'
  | 'kafkaClientId'
  | 'kafkaUser';

/** Parses a number input: empty means "unset" (the default applies). */
function parseNumber(text: string): number | undefined {
  return text.trim() === '' ? undefined : Number(text);
}

export function ConfigEditor({ options, onOptionsChange }: Props) {
  const { jsonData, secureJsonFields } = options;
  const secureJsonData = (options.secureJsonData ?? {}) as VigilSecureJsonData;

  const setJsonData = (patch: Partial<VigilOptions>) =>
    onOptionsChange({ ...options, jsonData: { ...jsonData, ...patch } });
  const setSecret = (key: keyof VigilSecureJsonData, value: string) =>
    onOptionsChange({ ...options, secureJsonData: { ...secureJsonData, [key]: value } });
  // Reset forgets the stored secret: Grafana deletes it on save.
  const resetSecret = (key: keyof VigilSecureJsonData) =>
    onOptionsChange({
      ...options,
      secureJsonFields: { ...secureJsonFields, [key]: false },
      secureJsonData: { ...secureJsonData, [key]: '' },
    });

  const errors = {
    url: urlError(options.url),
    bucket: bucketError(jsonData.defaultBucket),
    timeout: positiveNumberError(jsonData.timeout, 'seconds'),
    maxPoints: positiveNumberError(jsonData.maxPoints, 'points', true),
    stateMaxMB: positiveNumberError(jsonData.stateMaxMB, 'MiB'),
    stateHorizonWindows: positiveNumberError(jsonData.stateHorizonWindows, 'windows', true),
    kafkaBrokers: brokersError(jsonData.kafkaBrokers),
    kafkaLiveIdleSeconds: positiveNumberError(jsonData.kafkaLiveIdleSeconds, 'seconds'),
    kafkaFutureToleranceSeconds: positiveNumberError(jsonData.kafkaFutureToleranceSeconds, 'seconds'),
  };
  // A text setting of jsonData.
  const text = (
    key: TextSetting,
    label: string,
    description: string,
    placeholder: string,
    opts: { error?: string; required?: boolean; id?: string } = {}
  ) => (
    <Field label={label} description={description} invalid={!!opts.error} error={opts.error} required={opts.required}>
      <Input
        id={opts.id ?? `vigil-${key}`}
        width={WIDTH}
        value={jsonData[key] ?? ''}
        placeholder={placeholder}
        autoComplete="off"
        onChange={(e: ChangeEvent<HTMLInputElement>) => setJsonData({ [key]: e.currentTarget.value })}
      />
    </Field>
  );

  // A secret of secureJsonData: write-only, with reset.
  const secretSetting = (key: keyof VigilSecureJsonData, label: string, description: string, placeholder: string) => (
    <Field label={label} description={`${description} Stored encrypted; never shown again.`}>
      <SecretInput
        id={`vigil-${key}`}
        width={WIDTH}
        isConfigured={!!secureJsonFields?.[key]}
        value={secureJsonData[key] ?? ''}
        placeholder={placeholder}
        onChange={(e: ChangeEvent<HTMLInputElement>) => setSecret(key, e.currentTarget.value)}
        onReset={() => resetSecret(key)}
      />
    </Field>
  );

  // A number setting of jsonData: empty means the default, which it shows.
  const numberSetting = (key: NumberSetting, label: string, description: string) => (
    <Field
      label={label}
      description={`${description} Default ${DEFAULT_SETTINGS[key]}.`}
      invalid={!!errors[key]}
      error={errors[key]}
    >
      <Input
        id={`vigil-${key}`}
        type="number"
        width={20}
        value={jsonData[key] ?? ''}
        placeholder={String(DEFAULT_SETTINGS[key])}
        onChange={(e: ChangeEvent<HTMLInputElement>) => setJsonData({ [key]: parseNumber(e.currentTarget.value) })}
      />
    </Field>
  );

  return (
    <>
      <FieldSet label="InfluxDB connection">
        <Field
          label="URL"
          description="Base URL of InfluxDB (1.x, 2.x with DBRP mappings, or 3.x), as the Grafana server reaches it."
          invalid={!!errors.url}
          error={errors.url}
          required
        >
          <Input
            id="vigil-url"
            width={WIDTH}
            value={options.url ?? ''}
            placeholder="http://localhost:8086"
            onChange={(e: ChangeEvent<HTMLInputElement>) => onOptionsChange({ ...options, url: e.currentTarget.value })}
          />
        </Field>
        {secretSetting(
          'token',
          'Token',
          'InfluxDB API token. For InfluxDB 1.8 write user:password, or use User and Password below instead; leave empty when authentication is off.',
          'user:password or API token'
        )}
        {text('organization', 'Organization', 'InfluxDB 2.x organization. InfluxDB 1.8 ignores it.', 'my-org')}
        {text(
          'defaultBucket',
          'Default bucket',
          'Bucket read by queries that name none, and checked by Save & test. InfluxDB 1.8: database/retention-policy.',
          'printer/autogen',
          { error: errors.bucket, required: true, id: 'vigil-default-bucket' }
        )}
      </FieldSet>
      <FieldSet label="InfluxDB 1.x / v1 authentication">
        <p>
          The alternative to the token: an InfluxDB 1.x user, an InfluxDB 2.x v1 authorization, or for InfluxDB 3.x
          any user with the database token as password. Set either the token or user and password, not both.
        </p>
        {text('user', 'User', 'v1 user name, sent with the password as HTTP Basic authentication.', 'user')}
        {secretSetting('password', 'Password', "The user's password (InfluxDB 3.x: the database token).", 'password')}
      </FieldSet>
      <FieldSet label="Limits">
        {numberSetting('timeout', 'Timeout', 'Seconds to wait for InfluxDB on each request.')}
        {numberSetting(
          'maxPoints',
          'Max points',
          'Most points one query may read from InfluxDB; larger queries fail with a message instead of overloading Grafana.'
        )}
      </FieldSet>
      <FieldSet label="Kept t-test state">
        {numberSetting(
          'stateMaxMB',
          'State memory (MiB)',
          'Memory for t-test state kept between queries, so that alert rules and refreshing panels read only new data; least recently used state goes first.'
        )}
        {numberSetting(
          'stateHorizonWindows',
          'Late points (windows)',
          'How many windows back kept state is checked for points that arrived late; later ones are not reflected until the state is rebuilt.'
        )}
      </FieldSet>
      <FieldSet label="Alert history">
        <p>
          The one place the alert-history receiver writes: a request naming another bucket or measurement is refused.
          Only an Editor or an Admin may write (a contact point: the token of a service account with the Editor role).
        </p>
        {text(
          'alertHistoryBucket',
          'Alert-history bucket',
          'Bucket the receiver writes, the only one the token needs write permission on. Empty: the default bucket.',
          jsonData.defaultBucket || 'the default bucket'
        )}
        {text(
          'alertHistoryMeasurement',
          'Alert-history measurement',
          `Measurement the receiver writes. Default ${DEFAULT_SETTINGS.alertHistoryMeasurement}.`,
          DEFAULT_SETTINGS.alertHistoryMeasurement
        )}
      </FieldSet>
      <FieldSet label="Kafka (optional)">
        <p>For the Kafka t-test query: its time ranges are answered from a topic&apos;s retained messages, and Live follows the topic.</p>
        {text(
          'kafkaBrokers',
          'Brokers',
          'Comma-separated host:port list, as the Grafana server reaches them. Save & test asks them for metadata.',
          'localhost:9092',
          { error: errors.kafkaBrokers }
        )}
        {text('kafkaClientId', 'Client id', 'The client id the brokers see (quotas, logs).', 'vigil')}
        <Field label="SASL" description="Authentication mechanism; none for a broker without authentication.">
          <RadioButtonGroup
            options={SASL}
            value={jsonData.kafkaSaslMechanism ?? ''}
            onChange={(kafkaSaslMechanism) => setJsonData({ kafkaSaslMechanism })}
          />
        </Field>
        {jsonData.kafkaSaslMechanism && (
          <>
            {text('kafkaUser', 'SASL user', 'The user the brokers authenticate.', 'user')}
            {secretSetting('kafkaPassword', 'SASL password', "The SASL user's password.", 'password')}
          </>
        )}
        <Field label="TLS" description="Connect to the brokers with TLS (certificates checked against the system's authorities).">
          <Switch
            id="vigil-kafkaTls"
            value={!!jsonData.kafkaTls}
            onChange={(e: React.FormEvent<HTMLInputElement>) => setJsonData({ kafkaTls: e.currentTarget.checked })}
          />
        </Field>
        {numberSetting(
          'kafkaLiveIdleSeconds',
          'Live idle series (s)',
          'A series of a Kafka Live stream without a point for this many seconds of event time is forgotten (its memory freed); if it comes back, its t-test history starts afresh.'
        )}
        {numberSetting(
          'kafkaFutureToleranceSeconds',
          'Future tolerance (s)',
          "Points dated more than this many seconds ahead of the Grafana server's clock are counted, shown in a notice and left out, so that one wrong producer clock cannot hold back everyone else's points."
        )}
      </FieldSet>
    </>
  );
}
