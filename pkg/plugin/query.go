package plugin

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/vigil/vigil-anomaly-datasource/pkg/alerthistory"
	"github.com/vigil/vigil-anomaly-datasource/pkg/frames"
	"github.com/vigil/vigil-anomaly-datasource/pkg/influx"
	"github.com/vigil/vigil-anomaly-datasource/pkg/kafka"
	"github.com/vigil/vigil-anomaly-datasource/pkg/models"
	"github.com/vigil/vigil-anomaly-datasource/pkg/power"
	"github.com/vigil/vigil-anomaly-datasource/pkg/ttest"
)

// QueryData answers each query on its own: one query's error never fails the others.
func (d *Datasource) QueryData(ctx context.Context, req *backend.QueryDataRequest) (*backend.QueryDataResponse, error) {
	resp := backend.NewQueryDataResponse()
	for _, q := range req.Queries {
		resp.Responses[q.RefID] = d.query(ctx, q)
	}
	return resp, nil
}

func (d *Datasource) query(ctx context.Context, dq backend.DataQuery) (res backend.DataResponse) {
	defer func() {
		if r := recover(); r != nil {
			d.logger.Error("query panicked", "refId", dq.RefID, "panic", r)
			res = backend.ErrDataResponseWithSource(backend.StatusInternal, backend.ErrorSourcePlugin,
				fmt.Sprintf("internal error in Vigil while running query %s", dq.RefID))
		}
	}()
	if d.settingsErr != nil {
		return backend.ErrDataResponseWithSource(backend.StatusBadRequest, backend.ErrorSourceDownstream, d.settingsErr.Error())
	}
	q, err := models.ParseQuery(dq, d.settings)
	if err != nil {
		return backend.ErrDataResponseWithSource(backend.StatusBadRequest, backend.ErrorSourceDownstream, err.Error())
	}
	var fr data.Frames
	var executed string
	switch q.Type {
	case models.QueryTypeFlux:
		executed = influx.Interpolate(q.Flux, influx.Vars{
			Start:        q.TimeRange.From,
			Stop:         q.TimeRange.To,
			WindowPeriod: windowPeriod(dq),
			Bucket:       q.Bucket,
			Organization: d.settings.Organization,
		})
		fr, err = d.runFlux(ctx, executed)
	case models.QueryTypeInfluxQL:
		executed = influx.Macros(q.InfluxQL, q.TimeRange.From, q.TimeRange.To, windowPeriod(dq))
		fr, err = d.runInfluxQL(ctx, q, executed)
	case models.QueryTypeTTest:
		fr, err = d.runTTest(ctx, q)
	case models.QueryTypeKafka:
		fr, err = d.runKafka(ctx, q)
	case models.QueryTypeAnomaly:
		fr, err = d.runAnomaly(ctx, q)
	case models.QueryTypePower:
		fr, err = d.runPower(ctx, q)
	case models.QueryTypeAlerts:
		fr, err = d.runAlerts(ctx, q)
	}
	if err != nil {
		return errorResponse(d.explainMissingBucket(ctx, err, q.Bucket, ""), executed)
	}
	return backend.DataResponse{Frames: fr}
}

// explainMissingBucket gives a bucket InfluxQL does not find InfluxDB 2.x's
// reason, a missing DBRP mapping, when the server is 2.x: version is what
// /ping said, or "" to ask it.
func (d *Datasource) explainMissingBucket(ctx context.Context, err error, bucket, version string) error {
	if !influx.IsKind(err, influx.KindNotFound) {
		return err
	}
	if version == "" {
		version, _ = d.client.Ping(ctx)
	}
	if influx.ProductLine(version) == "2.x" {
		return influx.DBRPError(err, bucket)
	}
	return err
}

// runFlux executes a script and decodes its result as it streams in. A
// script that can write is refused before it is sent (the check reads the
// script as sent, after the v.* variables).
func (d *Datasource) runFlux(ctx context.Context, script string) (data.Frames, error) {
	if err := influx.CheckReadOnlyFlux(script); err != nil {
		return nil, &models.QueryError{Field: "flux", Reason: err.Error()}
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // stops the download when the guard trips early
	res, err := d.client.Query(ctx, script)
	if err != nil {
		return nil, err
	}
	// Close drains the rest of the body: cancel first, so that an answer cut
	// short by Max points stops at once instead of at the timeout.
	defer func() { cancel(); res.Close() }()
	fr, err := frames.FromFlux(res, d.settings.MaxPoints)
	if err != nil {
		var tooMany *models.TooManyPointsError
		if errors.As(err, &tooMany) {
			return nil, err
		}
		return nil, d.client.ResultError(err)
	}
	for _, f := range fr {
		if f.Meta == nil {
			f.Meta = &data.FrameMeta{}
		}
		f.Meta.ExecutedQueryString = script
	}
	return fr, nil
}

// runInfluxQL runs a raw statement on the query bucket's database and
// collects its answer into frames as it streams in. Unless every statement
// only reads, the query is refused before it is sent (the check reads the
// text as sent, after the macros).
func (d *Datasource) runInfluxQL(ctx context.Context, q models.Query, statement string) (data.Frames, error) {
	if err := influx.CheckReadOnlyInfluxQL(statement); err != nil {
		return nil, &models.QueryError{Field: "influxql", Reason: err.Error()}
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // stops the download when the guard trips early
	b := &frames.InfluxQL{MaxPoints: d.settings.MaxPoints}
	db := influx.Selection{Bucket: q.Bucket}.Database()
	if err := d.client.InfluxQL(ctx, db, statement, b.Add); err != nil {
		return nil, err
	}
	return b.Frames(statement)
}

// runTTest runs the t-test and shapes its windows into frames.
func (d *Datasource) runTTest(ctx context.Context, q models.Query) (data.Frames, error) {
	out, err := d.cache.Run(ctx, d.influxSource(), ttestRequest(q, d.settings.MaxPoints))
	if err != nil {
		return nil, err
	}
	if q.Format == models.FormatAnnotations {
		return frames.TTestAnnotations(out, q.TTest.Window, q.TTest.Alpha), nil
	}
	return frames.TTest(out, q.TTest.Output, q.TTest.Alpha), nil
}

// ttestRequest is the t-test of a ttest or kafka query over its range
// (ttest.RequestFor, which fails only for an anomaly query's detector).
func ttestRequest(q models.Query, maxPoints int64) ttest.Request {
	req, _ := ttest.RequestFor(q, maxPoints)
	return req
}

// runAnomaly runs an anomaly query's detector through the t-test's query
// path (ttest.WithDetector builds it from the query's settings): over
// InfluxDB with the kept state of alert rules and panels, or over a Kafka
// topic's retained messages (loaded for the detector's whole warm-up) when
// topic is set.
func (d *Datasource) runAnomaly(ctx context.Context, q models.Query) (data.Frames, error) {
	req, err := ttest.RequestFor(q, d.settings.MaxPoints)
	if err != nil {
		return nil, err
	}
	var out *ttest.Outcome
	if q.Kafka.Topic != "" {
		store, sum, err := d.topics.Load(ctx, q, req.From.Add(-req.MaxLookback()), req.To, d.settings.MaxPoints)
		if err != nil {
			return nil, err
		}
		if out, err = ttest.Run(ctx, store, req); err != nil {
			return nil, err
		}
		out.Scripts = []string{sum.Describe()}
		out.Notices = append(sum.Notices, out.Notices...)
	} else if out, err = d.cache.Run(ctx, d.influxSource(), req); err != nil {
		return nil, err
	}
	if q.Format == models.FormatAnnotations {
		return frames.AnomalyAnnotations(out, q.TTest.Window, q.Anomaly.Detector), nil
	}
	return frames.Anomaly(out, q.Anomaly.Output), nil
}

// influxSource is what the ttest and anomaly queries read: the InfluxDB
// client, or the in-memory stand-in a test gives the Live steppers
// (liveSource), so that queries and streams read the same data.
func (d *Datasource) influxSource() ttest.Source { return d.liveSource() }

// runPower runs the power query and shapes it into a frame.
func (d *Datasource) runPower(ctx context.Context, q models.Query) (data.Frames, error) {
	out, err := power.Run(ctx, d.client, power.Request{
		Selection:     influx.Selection{Bucket: q.Bucket, Measurement: q.Measurement, Tags: q.Tags},
		ActivePower:   q.Power.ActivePower,
		SubMeters:     q.Power.SubMeters,
		Aggregate:     q.Power.Aggregate,
		From:          q.TimeRange.From,
		To:            q.TimeRange.To,
		Interval:      q.Interval,
		MaxDataPoints: q.Power.MaxDataPoints,
		MaxPoints:     d.settings.MaxPoints,
	})
	if err != nil {
		return nil, err
	}
	return frames.Power(out), nil
}

// runAlerts reads the stored alert history as a table or as annotations.
func (d *Datasource) runAlerts(ctx context.Context, q models.Query) (data.Frames, error) {
	sel := influx.Selection{Bucket: q.Bucket, Measurement: q.Measurement, Tags: q.Tags}
	records, stmt, err := alerthistory.Read(ctx, d.client, sel, q.TimeRange.From, q.TimeRange.To)
	if err != nil {
		return nil, err
	}
	if q.Format == models.FormatAnnotations {
		return frames.AlertAnnotations(alerthistory.Events(records), stmt), nil
	}
	return frames.AlertTable(records, stmt), nil
}

// windowPeriod is Grafana's interval for the panel; alert rules may send
// none, so fall back to the range split into MaxDataPoints steps.
func windowPeriod(q backend.DataQuery) time.Duration {
	if q.Interval > 0 {
		return q.Interval
	}
	points := q.MaxDataPoints
	if points <= 0 {
		points = 1000
	}
	step := q.TimeRange.Duration() / time.Duration(points)
	if step < time.Millisecond {
		step = time.Millisecond
	}
	return step.Truncate(time.Millisecond)
}

// errorResponse maps an error to a response with the right status and source.
// Everything that InfluxDB or the user's input caused is downstream; anything
// else is Vigil's own fault.
func errorResponse(err error, executed string) backend.DataResponse {
	var ie *influx.Error
	var tooMany *models.TooManyPointsError
	var qe *models.QueryError
	var ke *kafka.Error
	var res backend.DataResponse
	switch {
	case errors.As(err, &ke):
		res = backend.ErrDataResponseWithSource(backend.StatusBadGateway, backend.ErrorSourceDownstream, ke.Error())
	case errors.As(err, &qe):
		res = backend.ErrDataResponseWithSource(backend.StatusBadRequest, backend.ErrorSourceDownstream, qe.Error())
	case errors.As(err, &ie):
		res = backend.ErrDataResponseWithSource(statusFor(ie), backend.ErrorSourceDownstream, ie.Message)
	case errors.As(err, &tooMany):
		res = backend.ErrDataResponseWithSource(backend.StatusBadRequest, backend.ErrorSourceDownstream, tooMany.Error())
	case errors.Is(err, context.Canceled):
		res = backend.ErrDataResponseWithSource(backend.StatusBadRequest, backend.ErrorSourceDownstream, "the query was cancelled")
	default:
		res = backend.ErrDataResponseWithSource(backend.StatusInternal, backend.ErrorSourcePlugin, err.Error())
	}
	if executed != "" {
		// Keep the executed query visible in the query inspector even on error.
		res.Frames = data.Frames{data.NewFrame("").SetMeta(&data.FrameMeta{ExecutedQueryString: executed})}
	}
	return res
}

func statusFor(e *influx.Error) backend.Status {
	switch e.Kind {
	case influx.KindUnauthorized:
		return backend.StatusUnauthorized
	case influx.KindTimeout:
		return backend.StatusTimeout
	case influx.KindBadQuery, influx.KindNotFound:
		return backend.StatusBadRequest
	case influx.KindUnreachable, influx.KindUnavailable:
		return backend.StatusBadGateway
	}
	if e.Status != 0 {
		return backend.Status(e.Status)
	}
	return backend.Status(http.StatusBadGateway)
}
