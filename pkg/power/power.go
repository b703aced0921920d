// Package power runs Vigil's household power query: the unmetered energy
// per point (analysis.UnmeteredWh), computed and, for long ranges,
// aggregated inside InfluxDB so that a panel reads about one row per pixel.
package power

import (
	"context"
	"math"
	"time"

	"github.com/vigil/vigil-anomaly-datasource/pkg/analysis"
	"github.com/vigil/vigil-anomaly-datasource/pkg/influx"
	"github.com/vigil/vigil-anomaly-datasource/pkg/models"
)

// Source is what the power query reads: influx.Reader.
type Source = influx.Reader

// Request is one power query.
type Request struct {
	Selection   influx.Selection
	ActivePower string
	SubMeters   []string
	// Aggregate is auto, none, mean, max or sum.
	Aggregate     string
	From, To      time.Time
	Interval      time.Duration
	MaxDataPoints int64
	MaxPoints     int64
}

// Outcome is the power series and how it was read.
type Outcome struct {
	Times      []time.Time
	Values     []float64
	Aggregate  influx.Aggregate
	Every      time.Duration
	Statements []string
}

// Run answers one power query. With aggregate auto it counts the points in
// the range first and aggregates (mean) only when they outnumber the
// panel's points, that is when the panel's interval is coarser than the data.
func Run(ctx context.Context, src Source, req Request) (*Outcome, error) {
	// The reads are in ns: a range beyond 1677 to 2262 would wrap around.
	req.From, req.To = analysis.ClampTime(req.From), analysis.ClampTime(req.To)
	out := &Outcome{Aggregate: influx.Aggregate(req.Aggregate), Every: every(req)}
	if req.Aggregate == models.AggregateAuto {
		counted := req.Selection
		counted.Fields = []string{req.ActivePower}
		_, stmt := influx.SeriesCountStatement(counted, req.From, req.To)
		out.Statements = append(out.Statements, stmt)
		counts, err := src.SeriesCounts(ctx, counted, req.From, req.To)
		if err != nil {
			return nil, err
		}
		var n int64
		for _, c := range counts {
			n += c.N
		}
		out.Aggregate = influx.AggregateNone
		if n > maxDataPoints(req) {
			out.Aggregate = influx.AggregateMean
		}
	}
	if out.Aggregate == influx.AggregateNone {
		out.Every = 0
	}
	read := influx.PowerRead{Selection: req.Selection, ActivePower: req.ActivePower, SubMeters: req.SubMeters,
		Start: req.From, Stop: req.To, Aggregate: out.Aggregate, Every: out.Every}
	if out.Aggregate != influx.AggregateNone {
		// InfluxDB misplaces an interval that begins before 1677-09-21 (its
		// start wraps around): aggregates start at the first whole interval.
		if first := time.Unix(0, analysis.FirstWindowStart(int64(out.Every))); read.Start.Before(first) {
			read.Start = first.UTC()
		}
	}
	out.Statements = append(out.Statements, read.Statement())
	var rows int64
	err := src.Power(ctx, read, func(b influx.Batch) error {
		for j, ns := range b.Times {
			rows++
			if out.Aggregate == influx.AggregateNone && rows > req.MaxPoints {
				return &models.TooManyPointsError{MaxPoints: req.MaxPoints,
					Hint: `use "aggregate": "mean" (or auto) to read one row per interval, or shorten the time range`}
			}
			v := b.Value(j, 0)
			if math.IsNaN(v) {
				continue // a point missing an input
			}
			out.Times = append(out.Times, time.Unix(0, ns).UTC())
			out.Values = append(out.Values, v)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// every is the aggregation interval: the panel's interval, at least the
// range divided by the panel's points, in whole milliseconds.
func every(req Request) time.Duration {
	step := req.To.Sub(req.From) / time.Duration(maxDataPoints(req))
	e := max(req.Interval, step)
	// Up to whole milliseconds; down at the very top, where up overflows.
	if c := e.Truncate(time.Millisecond); c != e && c <= math.MaxInt64-time.Millisecond {
		e = c + time.Millisecond
	} else {
		e = c
	}
	return max(e, time.Millisecond)
}

func maxDataPoints(req Request) int64 {
	if req.MaxDataPoints > 0 {
		return req.MaxDataPoints
	}
	return 1000
}

// Live streams the power value: it starts with the points of the recent
// range and each Poll returns the points newer than the newest one read.
// A point written later with an older timestamp is not seen by the stream
// (a query over the range includes it).
type Live struct {
	req  Request
	last time.Time
}

// StartLive returns the recent points (every point, no aggregation) and the
// live state after them.
func StartLive(ctx context.Context, src Source, req Request) (*Live, *Outcome, error) {
	req.Aggregate = string(influx.AggregateNone)
	out, err := Run(ctx, src, req)
	if err != nil {
		return nil, nil, err
	}
	l := &Live{req: req, last: req.From.Add(-time.Nanosecond)}
	if n := len(out.Times); n > 0 {
		l.last = out.Times[n-1]
	}
	return l, out, nil
}

// Poll returns the points newer than the last one read, up to now (and a
// minute beyond, for clocks that run ahead).
func (l *Live) Poll(ctx context.Context, src Source, now time.Time) (*Outcome, error) {
	req := l.req
	req.From, req.To = l.last.Add(time.Nanosecond), now.Add(time.Minute)
	out, err := Run(ctx, src, req)
	if err != nil {
		return nil, err
	}
	if n := len(out.Times); n > 0 {
		l.last = out.Times[n-1]
	}
	return out, nil
}
