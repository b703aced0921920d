import React from 'react';
import { render, screen, fireEvent } from '@testing-library/react';
import { DataSourceSettings } from '@grafana/data';

import { ConfigEditor } from './ConfigEditor';
import { VigilOptions, VigilSecureJsonData } from '../types';

type Settings = DataSourceSettings<VigilOptions, VigilSecureJsonData>;

function settings(patch: Partial<Settings> = {}): Settings {
  return {
    id: 1,
    uid: 'vigil',
    orgId: 1,
    name: 'Vigil',
    type: 'vigil-anomaly-datasource',
    typeName: 'Vigil',
    typeLogoUrl: '',
    access: 'proxy',
    url: 'http://127.0.0.1:8086',
    user: '',
    database: '',
    basicAuth: false,
    basicAuthUser: '',
    isDefault: false,
    withCredentials: false,
    readOnly: false,
    jsonData: { defaultBucket: 'printer/autogen' },
    secureJsonFields: {},
    secureJsonData: {},
    version: 1,
    ...patch,
  } as Settings;
}

function renderEditor(opts: Settings) {
  const onOptionsChange = jest.fn();
  render(<ConfigEditor options={opts} onOptionsChange={onOptionsChange} />);
  return onOptionsChange;
}

describe('ConfigEditor', () => {
  it('shows every setting with its current value', () => {
    renderEditor(
      settings({
        jsonData: {
          defaultBucket: 'house/autogen',
          organization: 'acme',
          timeout: 12,
          maxPoints: 5000,
          stateMaxMB: 64,
          stateHorizonWindows: 3,
          alertHistoryBucket: 'history/autogen',
          alertHistoryMeasurement: 'alert_log',
        },
      })
    );
    expect(screen.getByLabelText(/^Alert-history bucket/)).toHaveValue('history/autogen');
    expect(screen.getByLabelText(/^Alert-history measurement/)).toHaveValue('alert_log');
    expect(screen.getByLabelText(/^URL/)).toHaveValue('http://127.0.0.1:8086');
    expect(screen.getByLabelText(/^Organization/)).toHaveValue('acme');
    expect(screen.getByLabelText(/^Default bucket/)).toHaveValue('house/autogen');
    expect(screen.getByLabelText(/^Timeout/)).toHaveValue(12);
    expect(screen.getByLabelText(/^Max points/)).toHaveValue(5000);
    expect(screen.getByLabelText(/^State memory/)).toHaveValue(64);
    expect(screen.getByLabelText(/^Late points/)).toHaveValue(3);
  });

  it('writes the URL and jsonData fields back through onOptionsChange', () => {
    const opts = settings();
    const onChange = renderEditor(opts);
    fireEvent.change(screen.getByLabelText(/^URL/), { target: { value: 'http://influx:8086' } });
    expect(onChange).toHaveBeenLastCalledWith(expect.objectContaining({ url: 'http://influx:8086' }));
    fireEvent.change(screen.getByLabelText(/^Default bucket/), { target: { value: 'house/autogen' } });
    expect(onChange).toHaveBeenLastCalledWith(
      expect.objectContaining({ jsonData: expect.objectContaining({ defaultBucket: 'house/autogen' }) })
    );
    fireEvent.change(screen.getByLabelText(/^Timeout/), { target: { value: '45' } });
    expect(onChange.mock.calls.at(-1)[0].jsonData.timeout).toBe(45);
    fireEvent.change(screen.getByLabelText(/^Max points/), { target: { value: '' } });
    expect(onChange.mock.calls.at(-1)[0].jsonData.maxPoints).toBeUndefined();
    fireEvent.change(screen.getByLabelText(/^State memory/), { target: { value: '512' } });
    expect(onChange.mock.calls.at(-1)[0].jsonData.stateMaxMB).toBe(512);
    fireEvent.change(screen.getByLabelText(/^Late points/), { target: { value: '4' } });
    expect(onChange.mock.calls.at(-1)[0].jsonData.stateHorizonWindows).toBe(4);
  });

  it('writes the alert-history target to jsonData, showing its defaults when unset', () => {
    const onChange = renderEditor(settings({ jsonData: { defaultBucket: 'printer/autogen' } }));
    expect(screen.getByLabelText(/^Alert-history bucket/)).toHaveAttribute('placeholder', 'printer/autogen');
    expect(screen.getByLabelText(/^Alert-history measurement/)).toHaveAttribute('placeholder', 'alerts');
    fireEvent.change(screen.getByLabelText(/^Alert-history bucket/), { target: { value: 'house/autogen' } });
    expect(onChange.mock.calls.at(-1)[0].jsonData).toEqual({
      defaultBucket: 'printer/autogen',
      alertHistoryBucket: 'house/autogen',
    });
    fireEvent.change(screen.getByLabelText(/^Alert-history measurement/), { target: { value: 'history' } });
    expect(onChange.mock.calls.at(-1)[0].jsonData).toMatchObject({ alertHistoryMeasurement: 'history' });
  });

  it('keeps the token in secureJsonData, never in jsonData', () => {
    const onChange = renderEditor(settings());
    fireEvent.change(screen.getByLabelText(/^Token/), { target: { value: 'user:secret' } });
    const next = onChange.mock.calls.at(-1)[0] as Settings;
    expect(next.secureJsonData?.token).toBe('user:secret');
    expect(JSON.stringify(next.jsonData)).not.toContain('secret');
  });

  it('shows a configured token as set and resets it', () => {
    const onChange = renderEditor(settings({ secureJsonFields: { token: true } }));
    expect(screen.getByLabelText(/^Token/)).toHaveValue('configured');
    fireEvent.click(screen.getByRole('button', { name: /reset/i }));
    const next = onChange.mock.calls.at(-1)[0] as Settings;
    expect(next.secureJsonFields.token).toBe(false);
    expect(next.secureJsonData?.token).toBe('');
  });

  it('writes the Kafka settings to jsonData and the SASL password to secureJsonData', () => {
    const onChange = renderEditor(settings({ jsonData: { defaultBucket: 'printer/autogen', kafkaSaslMechanism: 'SCRAM-SHA-512' } }));
    fireEvent.change(screen.getByLabelText(/^Brokers/), { target: { value: 'k1:9092,k2:9092' } });
    expect(onChange.mock.calls.at(-1)[0].jsonData).toMatchObject({ kafkaBrokers: 'k1:9092,k2:9092' });
    fireEvent.change(screen.getByLabelText(/^SASL user/), { target: { value: 'ops' } });
    expect(onChange.mock.calls.at(-1)[0].jsonData).toMatchObject({ kafkaUser: 'ops' });
    fireEvent.change(screen.getByLabelText(/^SASL password/), { target: { value: 'kafka-secret' } });
    const next = onChange.mock.calls.at(-1)[0] as Settings;
    expect(next.secureJsonData?.kafkaPassword).toBe('kafka-secret');
    expect(JSON.stringify(next.jsonData)).not.toContain('kafka-secret');
    fireEvent.click(screen.getByLabelText(/^TLS/));
    expect(onChange.mock.calls.at(-1)[0].jsonData).toMatchObject({ kafkaTls: true });
    fireEvent.click(screen.getByText('PLAIN'));
    expect(onChange.mock.calls.at(-1)[0].jsonData).toMatchObject({ kafkaSaslMechanism: 'PLAIN' });
  });

  it('writes the Kafka Live idle and future tolerance seconds, showing their defaults', () => {
    const onChange = renderEditor(settings({ jsonData: { defaultBucket: 'b', kafkaFutureToleranceSeconds: 30 } }));
    expect(screen.getByLabelText(/^Live idle series/)).toHaveValue(null);
    expect(screen.getByLabelText(/^Live idle series/)).toHaveAttribute('placeholder', '86400');
    expect(screen.getByText(/its t-test history starts afresh\. Default 86400\./)).toBeInTheDocument();
    expect(screen.getByLabelText(/^Future tolerance/)).toHaveValue(30);
    fireEvent.change(screen.getByLabelText(/^Live idle series/), { target: { value: '3600' } });
    expect(onChange.mock.calls.at(-1)[0].jsonData).toMatchObject({ kafkaLiveIdleSeconds: 3600 });
    fireEvent.change(screen.getByLabelText(/^Future tolerance/), { target: { value: '' } });
    expect(onChange.mock.calls.at(-1)[0].jsonData.kafkaFutureToleranceSeconds).toBeUndefined();
  });

  it('hides the SASL user and password without a mechanism, and checks the brokers', () => {
    renderEditor(settings({ jsonData: { defaultBucket: 'printer/autogen', kafkaBrokers: 'localhost' } }));
    expect(screen.queryByLabelText(/^SASL user/)).not.toBeInTheDocument();
    expect(screen.getByText('"localhost" is not host:port, e.g. localhost:9092 (separate brokers with commas)')).toBeInTheDocument();
  });

  it('writes the v1 user to jsonData and the password to secureJsonData', () => {
    const onChange = renderEditor(settings());
    expect(screen.getByText('InfluxDB 1.x / v1 authentication')).toBeInTheDocument();
    fireEvent.change(screen.getByLabelText(/^User/), { target: { value: 'vigil' } });
    expect(onChange.mock.calls.at(-1)[0].jsonData).toEqual({ defaultBucket: 'printer/autogen', user: 'vigil' });
    fireEvent.change(screen.getByLabelText(/^Password/), { target: { value: 'pw-secret' } });
    const next = onChange.mock.calls.at(-1)[0] as Settings;
    expect(next.secureJsonData?.password).toBe('pw-secret');
    expect(JSON.stringify(next.jsonData)).not.toContain('pw-secret');
  });

  it('shows a configured password as set and resets only it', () => {
    const onChange = renderEditor(
      settings({ jsonData: { defaultBucket: 'b', user: 'vigil' }, secureJsonFields: { password: true } })
    );
    expect(screen.getByLabelText(/^User/)).toHaveValue('vigil');
    expect(screen.getByLabelText(/^Password/)).toHaveValue('configured');
    expect(screen.getByLabelText(/^Token/)).toHaveValue('');
    fireEvent.click(screen.getByRole('button', { name: /reset/i }));
    const next = onChange.mock.calls.at(-1)[0] as Settings;
    expect(next.secureJsonFields.password).toBe(false);
    expect(next.secureJsonData?.password).toBe('');
    expect(next.secureJsonFields.token).toBeUndefined();
    expect(next.jsonData.user).toBe('vigil');
  });

  it.each([
    ['an empty URL', { url: '' }, /Enter the InfluxDB base URL/],
    ['a URL without scheme', { url: 'influx:8086' }, /must start with http/],
    ['credentials in the URL', { url: 'http://u:p@influx:8086' }, /credentials in the token/],
    ['an empty default bucket', { jsonData: { defaultBucket: '' } }, /Name the bucket/],
    ['a negative timeout', { jsonData: { defaultBucket: 'b', timeout: -1 } }, /Must be positive \(number of seconds\)/],
    ['a fractional max points', { jsonData: { defaultBucket: 'b', maxPoints: 1.5 } }, /whole number of points/],
    ['a negative max points', { jsonData: { defaultBucket: 'b', maxPoints: -5 } }, /Must be positive \(number of points\)/],
    ['a negative state memory', { jsonData: { defaultBucket: 'b', stateMaxMB: -1 } }, /Must be positive \(number of MiB\)/],
    ['a fractional late-points horizon', { jsonData: { defaultBucket: 'b', stateHorizonWindows: 1.5 } }, /whole number of windows/],
    ['a negative Kafka idle time', { jsonData: { defaultBucket: 'b', kafkaLiveIdleSeconds: -1 } }, /Must be positive \(number of seconds\)/],
  ])('explains %s', (_name, patch, message) => {
    renderEditor(settings(patch as Partial<Settings>));
    expect(screen.getByText(message)).toBeInTheDocument();
  });

  it('shows no error for valid settings', () => {
    renderEditor(settings({ jsonData: { defaultBucket: 'printer/autogen', timeout: 30, maxPoints: 1000 } }));
    expect(screen.queryByRole('alert')).not.toBeInTheDocument();
    expect(screen.queryByText(/must|enter|name the bucket/i)).not.toBeInTheDocument();
  });
});
