package plugin

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/vigil/vigil-anomaly-datasource/pkg/analysis"
	"github.com/vigil/vigil-anomaly-datasource/pkg/frames"
	"github.com/vigil/vigil-anomaly-datasource/pkg/influx"
	"github.com/vigil/vigil-anomaly-datasource/pkg/models"
	"github.com/vigil/vigil-anomaly-datasource/pkg/power"
	"github.com/vigil/vigil-anomaly-datasource/pkg/ttest"
)

var _ backend.StreamHandler = (*Datasource)(nil)

// Live streams: channel paths under ds/<uid>/ are models.LiveChannel's
// ttest/<field>/<hash> (one field per channel) and
// power/<measurement>/<hash>; the subscription's data is the query JSON,
// plus optional "pollInterval" (t-test: window/10 from 200ms to 30s; power:
// 1s) and "settle" (t-test: how long after a window's end its last points
// may still arrive; default 250ms).
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
	qt := models.QueryType(strings.SplitN(path, "/", 2)[0])
	if qt != models.QueryTypeTTest && qt != models.QueryTypePower && qt != models.QueryTypeKafka && qt != models.QueryTypeAnomaly {
		return liveQuery{}, fmt.Errorf("channel path %q: want ttest/<field>/<hash>, anomaly/<field>/<hash>, kafka/<field>/<hash> or power/<measurement>/<hash>", path)
	}
	want, err := models.LiveChannel(qt, raw)
	if err != nil {
		return liveQuery{}, err
	}
	if path != want {
		// Grafana sends a channel's frames to all its viewers: a path must
		// name exactly one query.
		return liveQuery{}, fmt.Errorf("channel path %q does not match its query, whose channel is %q", path, want)
	}
	q, err := models.ParseQuery(backend.DataQuery{RefID: "live", QueryType: string(qt), JSON: raw,
		TimeRange: backend.TimeRange{From: now.Add(-liveInitialRange), To: now}}, d.settings)
	if err != nil {
		return liveQuery{}, err
	}
	if qt == models.QueryTypeAnomaly && q.Kafka.Topic != "" {
		// The Kafka stream runs the t-test's own live windows (pkg/kafka).
		return liveQuery{}, &models.QueryError{Field: "topic", Reason: "an anomaly query over a Kafka topic is not streamed live yet: use a kafka query (the t-test) for a live topic, or an anomaly query without Live"}
	}
	if qt != models.QueryTypePower && len(q.TTest.Fields) != 1 {
		return liveQuery{}, &models.QueryError{Field: "fields", Reason: fmt.Sprintf("a channel streams one field, got %q", q.TTest.Fields)}
	}
	var opts struct {
		PollInterval string `json:"pollInterval"`
		Settle       string `json:"settle"`
	}
	_ = json.Unmarshal(raw, &opts)
	lq := liveQuery{query: q, poll: time.Second, settle: defaultSettle}
	if qt == models.QueryTypeTTest || qt == models.QueryTypeAnomaly {
		lq.poll = min(max(q.TTest.Window/10, 200*time.Millisecond), 30*time.Second)
	}
	for _, o := range []struct {
		field, text string
		target      *time.Duration
	}{{"pollInterval", opts.PollInterval, &lq.poll}, {"settle", opts.Settle, &lq.settle}} {
		if o.text == "" {
			continue
		}
		v, err := models.ParseDuration(o.text)
		if err != nil || v <= 0 {
			return liveQuery{}, &models.QueryError{Field: o.field, Reason: fmt.Sprintf("%q is not a positive duration", o.text)}
		}
		*o.target = v
	}
	if qt == models.QueryTypeKafka {
		// A kafka stream waits for messages; it looks at idle partitions every settle.
		lq.poll = lq.settle
	}
	return lq, nil
}

// powerRequest is the power query over the recent range.
func (lq liveQuery) powerRequest(maxPoints int64, now time.Time) power.Request {
	q := lq.query
	return power.Request{
		Selection:   influx.Selection{Bucket: q.Bucket, Measurement: q.Measurement, Tags: q.Tags},
		ActivePower: q.Power.ActivePower, SubMeters: q.Power.SubMeters,
		From: now.Add(-liveInitialRange), To: now, MaxPoints: maxPoints,
	}
}

// request is the t-test query over the recent range.
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

// liveRequest is the stream's query over the recent range: the t-test, or
// an anomaly query's detector (ttest.WithDetector).
func (lq liveQuery) liveRequest(maxPoints int64, now time.Time) (ttest.Request, error) {
	req := lq.request(maxPoints, now)
	if lq.query.Type != models.QueryTypeAnomaly {
		return req, nil
	}
	return ttest.WithDetector(req, lq.query.Anomaly)
}

// liveFrame is the frame of windows sent on the channel: the t-test's, or
// an anomaly query's output (frames.AnomalyLive).
func (lq liveQuery) liveFrame(series []*ttest.Series) *data.Frame {
	if lq.query.Type == models.QueryTypeAnomaly {
		return frames.AnomalyLive(series, lq.query.Anomaly.Output)
	}
	return frames.TTestLive(series, lq.query.TTest.Output, lq.query.TTest.Alpha)
}

// SubscribeStream accepts a well-formed channel and gives the new viewer
// the recent windows (the rows a query over the last hour returns): the
// running stream's, or the warm-up, read once per channel and shared with
// its RunStream. A channel whose source fails is accepted too (the query is
// valid: the stream retries), with a frame whose notice says why: Grafana
// would show a refused subscription only as a generic failure.
func (d *Datasource) SubscribeStream(ctx context.Context, req *backend.SubscribeStreamRequest) (*backend.SubscribeStreamResponse, error) {
	lq, err := d.parseLive(req.Path, req.Data, d.live.clk().Now())
	if err != nil {
		d.logger.Warn("live subscription refused", "path", req.Path, "error", err)
		return &backend.SubscribeStreamResponse{Status: backend.SubscribeStreamStatusNotFound}, nil
	}
	frame := d.live.subscribe(ctx, d.live.channel(req.Path), lq, func() stepper { return d.newStepper(lq) }, d.liveCause(lq))
	initial, err := backend.NewInitialFrame(frame, data.IncludeAll)
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
// number of viewers): it goes on from the warm-up its first subscription
// read (or reads it), then polls for newer points and sends one frame per
// poll that closed windows. While its source fails it sends a frame whose
// notice says why, backs off, and then catches up from the last point read,
// so no window is lost or sent twice. It returns when ctx ends.
func (d *Datasource) RunStream(ctx context.Context, req *backend.RunStreamRequest, sender *backend.StreamSender) error {
	lq, err := d.parseLive(req.Path, req.Data, d.live.clk().Now())
	if err != nil {
		return err
	}
	ch := d.live.claim(req.Path)
	defer d.live.release(ch)
	send := func(f *data.Frame) error { return sender.SendFrame(f, data.IncludeAll) }
	return d.live.runLive(ctx, ch, lq, send, func() stepper { return d.newStepper(lq) }, d.liveCause(lq), d.logger.Warn)
}

// liveCause words a stream's failed read as a query's error says it.
func (d *Datasource) liveCause(lq liveQuery) func(error) string {
	return func(err error) string {
		// A short context of its own: the stream's may be ending.
		ctx, cancel := context.WithTimeout(context.Background(), d.settings.Timeout)
		defer cancel()
		if res := errorResponse(d.explainMissingBucket(ctx, err, lq.query.Bucket, ""), ""); res.Error != nil {
			return res.Error.Error()
		}
		return err.Error()
	}
}

// stepper is one channel's live state: start reads the recent range (the
// warm-up), poll what is new; each returns the frame to send (nil: nothing
// new). One goroutine at a time calls start and poll; initial may be called
// meanwhile.
type stepper interface {
	start(ctx context.Context, now time.Time) (*data.Frame, error)
	poll(ctx context.Context, now time.Time) (*data.Frame, error)
	// initial is what a new viewer gets: the last hour the channel sent.
	initial() *data.Frame
	// close releases what start opened.
	close()
}

// liveSource is what the InfluxDB steppers read.
func (d *Datasource) liveSource() influx.Reader {
	if d.live.src != nil {
		return d.live.src
	}
	return d.client
}

func (d *Datasource) newStepper(lq liveQuery) stepper {
	switch lq.query.Type {
	case models.QueryTypeKafka:
		return &kafkaStepper{topics: d.topics, lq: lq, maxPoints: d.settings.MaxPoints, recent: recentWindows{limit: d.settings.MaxPoints}}
	case models.QueryTypePower:
		return &powerStepper{src: d.liveSource(), req: lq.powerRequest(d.settings.MaxPoints, time.Now()), recent: recentPoints{limit: d.settings.MaxPoints}}
	}
	return &ttestStepper{src: d.liveSource(), cache: d.cache, lq: lq, maxPoints: d.settings.MaxPoints, recent: recentWindows{limit: d.settings.MaxPoints}}
}

type ttestStepper struct {
	src       ttest.Source
	cache     *ttest.Cache
	lq        liveQuery
	maxPoints int64
	live      *ttest.Live
	recent    recentWindows
}

func (t *ttestStepper) start(ctx context.Context, now time.Time) (*data.Frame, error) {
	req, err := t.lq.liveRequest(t.maxPoints, now)
	if err != nil {
		return nil, err
	}
	live, out, err := ttest.StartLive(ctx, t.src, t.cache, req)
	if err != nil {
		return nil, err
	}
	live.Settle, t.live = t.lq.settle, live
	t.recent.add(out.Series)
	return t.lq.liveFrame(out.Series), nil
}

func (t *ttestStepper) close() {}

func (t *ttestStepper) poll(ctx context.Context, now time.Time) (*data.Frame, error) {
	series, err := t.live.Poll(ctx, t.src, now)
	if len(series) == 0 {
		return nil, err
	}
	t.recent.add(series)
	return t.lq.liveFrame(series), err
}

func (t *ttestStepper) initial() *data.Frame { return t.recent.frame(t.lq) }

type powerStepper struct {
	src    power.Source
	req    power.Request
	live   *power.Live
	recent recentPoints
}

func (p *powerStepper) start(ctx context.Context, now time.Time) (*data.Frame, error) {
	p.req.From, p.req.To = now.Add(-liveInitialRange), now
	live, out, err := power.StartLive(ctx, p.src, p.req)
	if err != nil {
		return nil, err
	}
	p.live = live
	p.recent.add(out)
	return frames.Power(out)[0], nil
}

func (p *powerStepper) close() {}

func (p *powerStepper) poll(ctx context.Context, now time.Time) (*data.Frame, error) {
	out, err := p.live.Poll(ctx, p.src, now)
	if err != nil || len(out.Times) == 0 {
		return nil, err
	}
	p.recent.add(out)
	return frames.Power(out)[0], nil
}

func (p *powerStepper) initial() *data.Frame { return p.recent.frame() }
