import { expect, test } from '@grafana/plugin-e2e';

import { DS, Frame, pageErrors } from './helpers';

// The dashboard's live panel subscribes to Vigil's Grafana Live channels
// (ds/<uid>/ttest/<measurement>/<field>) through Grafana's WebSocket. Each
// subscription's initial data must be the rows a t-test query over the
// recent range returns: same windows, same p-values.
const FIELDS = ['hotend', 'bed', 'air'];

test('live panel: Grafana Live delivers each field\'s recent windows, equal to the query\'s', async ({ page }) => {
  const errors = pageErrors(page);
  const initial = new Map<string, Frame>(); // field -> initial frame
  const pending = new Map<number, string>(); // subscribe command id -> field
  page.on('websocket', (ws) => {
    ws.on('framesent', (f) => {
      for (const line of String(f.payload).split('\n').filter(Boolean)) {
        const cmd = JSON.parse(line);
        const m = /\/ds\/[^/]+\/ttest\/temperatures\/(\w+)$/.exec(cmd.subscribe?.channel ?? '');
        if (m) {
          pending.set(cmd.id, m[1]);
        }
      }
    });
    ws.on('framereceived', (f) => {
      for (const line of String(f.payload).split('\n').filter(Boolean)) {
        const reply = JSON.parse(line);
        const field = pending.get(reply.id);
        if (field && reply.subscribe?.data) {
          initial.set(field, reply.subscribe.data);
        }
      }
    });
  });
  await page.goto('/d/vigil-printer');
  await expect.poll(() => [...initial.keys()].sort(), { timeout: 60_000 }).toEqual([...FIELDS].sort());

  for (const field of FIELDS) {
    const frame = initial.get(field)!;
    expect(frame.schema.fields[1].labels?.field).toBe(field);
    const [times, pvalues] = frame.data.values;
    expect(times.length).toBeGreaterThan(3);
    // The same t-test as a query over the span the stream started with.
    const res = await page.request.post('/api/ds/query', {
      data: {
        from: String(times[0] - 1), to: String(times[times.length - 1] + 1),
        queries: [{
          refId: 'A', datasource: { uid: DS.uid }, queryType: 'ttest', bucket: 'printer/autogen',
          measurement: 'temperatures', fields: [field], window: '5m', history: 3600, alpha: 0.001, output: 'pvalue',
        }],
      },
    });
    expect(res.ok()).toBeTruthy();
    const [qTimes, qValues] = (await res.json()).results.A.frames[0].data.values as Frame['data']['values'];
    const byTime = new Map(qTimes.map((t, i) => [t, qValues[i]]));
    times.forEach((t, i) => {
      const q = byTime.get(t);
      expect(q, `${field} window ending ${new Date(t).toISOString()}`).not.toBeUndefined();
      expect(Math.abs(pvalues[i]! - q!)).toBeLessThanOrEqual(1e-12 * Math.abs(q!));
    });
  }
  expect(errors).toEqual([]);
});
