package plugin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/backend/gtime"
	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/vigil/vigil-anomaly-datasource/pkg/analysis"
	"github.com/vigil/vigil-anomaly-datasource/pkg/frames"
	"github.com/vigil/vigil-anomaly-datasource/pkg/influx"
	"github.com/vigil/vigil-anomaly-datasource/pkg/models"
	"github.com/vigil/vigil-anomaly-datasource/pkg/ttest"
)

var _ backend.StreamHandler = (*Datasource)(nil)

// Live streams: channel paths under ds/<uid>/ are ttest/<measurement>/<field>
// and the subscription's data is the ttest query JSON, plus optional
// "pollInterval" (default window/10, from 200ms to 30s) and "settle" (how
// long after a window's end its last points may still arrive; default
// 250ms).
const (
	liveInitialRange = time.Hour
	defaultSettle    = 250 * time.Millisecond
	maxBackoff       = 30 * time.Second
)

// liveQuery is a validated stream subscription.
type liveQuery struct {
	query  models.Query
	poll   time.Duration
	settle time.Duration
}

// parseLive validates a channel path and its query data.
func (d *Datasource) parseLive(path string, raw json.RawMessage, now time.Time) (liveQuery, error) {
	if d.settingsErr != nil {
		return liveQuery{}, d.settingsErr
	}
	parts := strings.Split(path, "/")
	if len(parts) != 3 || parts[0] != string(models.QueryTypeTTest) || parts[1] == "" || parts[2] == "" {
		return liveQuery{}, fmt.Errorf("channel path %q: want ttest/<measurement>/<field>", path)
	}
	q, err := models.ParseQuery(backend.DataQuery{RefID: "live", QueryType: string(models.QueryTypeTTest), JSON: raw,
		TimeRange: backend.TimeRange{From: now.Add(-liveInitialRange), To: now}}, d.settings)
	if err != nil {
		return liveQuery{}, err
	}
	if len(q.TTest.Fields) != 1 || q.Measurement != parts[1] || q.TTest.Fields[0] != parts[2] {
		return liveQuery{}, fmt.Errorf("channel path %q does not match the query (measurement %q, fields %q): one channel streams one field", path, q.Measurement, q.TTest.Fields)
	}
	var opts struct {
		PollInterval string `json:"pollInterval"`
		Settle       string `json:"settle"`
	}
	_ = json.Unmarshal(raw, &opts)
	lq := liveQuery{query: q, poll: min(max(q.TTest.Window/10, 200*time.Millisecond), 30*time.Second), settle: defaultSettle}
	for _, o := range []struct {
		field, text string
		target      *time.Duration
	}{{"pollInterval", opts.PollInterval, &lq.poll}, {"settle", opts.Settle, &lq.settle}} {
		if o.text == "" {
			continue
		}
		v, err := gtime.ParseDuration(o.text)
		if err != nil || v <= 0 {
			return liveQuery{}, &models.QueryError{Field: o.field, Reason: fmt.Sprintf("%q is not a positive duration", o.text)}
		}
		*o.target = v
	}
	return lq, nil
}

func (lq liveQuery) request(maxPoints int64, now time.Time) ttest.Request {
	q := lq.query
	span := max(liveInitialRange, 2*q.TTest.Window)
	return ttest.Request{
		Selection: influx.Selection{Bucket: q.Bucket, Measurement: q.Measurement, Fields: q.TTest.Fields, Tags: q.Tags},
		Window:    q.TTest.Window,
		Config:    analysis.Config{History: q.TTest.History, Alpha: q.TTest.Alpha},
		From:      now.Add(-span),
		To:        now,
		Mode:      models.ModePoints,
		MaxPoints: maxPoints,
	}
}

// SubscribeStream accepts a well-formed ttest channel and gives the new
// viewer the recent windows (the rows a query over the last hour returns).
func (d *Datasource) SubscribeStream(ctx context.Context, req *backend.SubscribeStreamRequest) (*backend.SubscribeStreamResponse, error) {
	now := time.Now()
	lq, err := d.parseLive(req.Path, req.Data, now)
	if err != nil {
		d.logger.Warn("live subscription refused", "path", req.Path, "error", err)
		return &backend.SubscribeStreamResponse{Status: backend.SubscribeStreamStatusNotFound}, nil
	}
	out, err := ttest.Run(ctx, d.client, lq.request(d.settings.MaxPoints, now))
	if err != nil {
		d.logger.Warn("live subscription: initial windows", "path", req.Path, "error", err)
		return &backend.SubscribeStreamResponse{Status: backend.SubscribeStreamStatusOK}, nil
	}
	initial, err := backend.NewInitialFrame(frames.TTestLive(out.Series, lq.query.TTest.Output, lq.query.TTest.Alpha), data.IncludeAll)
	if err != nil {
		return nil, err
	}
	return &backend.SubscribeStreamResponse{Status: backend.SubscribeStreamStatusOK, InitialData: initial}, nil
}

// PublishStream is refused: viewers only read Vigil's channels.
func (d *Datasource) PublishStream(context.Context, *backend.PublishStreamRequest) (*backend.PublishStreamResponse, error) {
	return &backend.PublishStreamResponse{Status: backend.PublishStreamStatusPermissionDenied}, nil
}

// RunStream runs one channel (Grafana runs one per channel, whatever the
// number of viewers): it warms the t-test from the recent range, then polls
// InfluxDB for newer points and sends one frame per poll that closed
// windows. While InfluxDB fails it backs off and then catches up from the
// last point read, so no window is lost or sent twice. It returns when ctx ends.
func (d *Datasource) RunStream(ctx context.Context, req *backend.RunStreamRequest, sender *backend.StreamSender) error {
	lq, err := d.parseLive(req.Path, req.Data, time.Now())
	if err != nil {
		return err
	}
	return runLive(ctx, d.client, lq, d.settings.MaxPoints, sender, d.logger.Warn)
}

// runLive is RunStream's loop, with the clock and the source as parameters.
func runLive(ctx context.Context, src ttest.Source, lq liveQuery, maxPoints int64, sender *backend.StreamSender,
	warn func(msg string, args ...any)) error {
	var live *ttest.Live
	backoff := time.Duration(0)
	window := lq.query.TTest.Window
	for {
		now := time.Now()
		var err error
		if live == nil {
			live, _, err = ttest.StartLive(ctx, src, lq.request(maxPoints, now))
			if live != nil {
				live.Settle = lq.settle
			}
		} else {
			var series []*ttest.Series
			series, err = live.Poll(ctx, src, now)
			if len(series) > 0 {
				f := frames.TTestLive(series, lq.query.TTest.Output, lq.query.TTest.Alpha)
				if serr := sender.SendFrame(f, data.IncludeAll); serr != nil {
					return serr
				}
			}
		}
		wait := lq.poll
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			// Back off, but not past two windows: a stream should catch up soon
			// after InfluxDB is back.
			backoff = min(max(2*backoff, time.Second), maxBackoff, max(2*window, time.Second))
			wait = backoff
			warn("live stream: InfluxDB read failed, retrying", "error", err, "retryIn", backoff)
			var qe *models.QueryError
			if errors.As(err, &qe) {
				return err // the query itself is wrong: retrying cannot help
			}
		} else {
			backoff = 0
			// Wake up right after the open window ends, not a poll later.
			next := time.Unix(0, (now.UnixNano()/int64(window)+1)*int64(window)).Add(lq.settle)
			wait = min(wait, max(time.Until(next), 0))
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
	}
}
