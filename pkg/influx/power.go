package influx

import (
	"fmt"
	"strings"
	"time"
)

// Aggregate is how the power query summarises each interval.
type Aggregate string

// Power aggregates; AggregateNone returns every point.
const (
	AggregateNone Aggregate = "none"
	AggregateMean Aggregate = "mean"
	AggregateMax  Aggregate = "max"
	AggregateSum  Aggregate = "sum"
)

// PowerExpr is the InfluxQL expression of the unmetered energy of one point,
// in the order analysis.UnmeteredWh computes it. InfluxQL yields null when
// any operand is missing, so a point lacking an input drops out.
func PowerExpr(activePower string, subMeters []string) string {
	var b strings.Builder
	b.WriteString(Ident(activePower) + " * 1000.0 / 60.0")
	for _, m := range subMeters {
		b.WriteString(" - " + Ident(m))
	}
	return b.String()
}

// PowerStatement selects the unmetered energy in [start, stop): every point
// (AggregateNone), or the aggregate of the per-point values over intervals of
// width every. Aggregating the per-point values in a subquery keeps the skip
// rule exact for every aggregate (mean, sum and max alike): a point missing
// an input is left out before aggregation, not counted as 0.
func PowerStatement(s Selection, activePower string, subMeters []string, start, stop time.Time, agg Aggregate, every time.Duration) string {
	inner := fmt.Sprintf(`SELECT %s AS "value" FROM %s WHERE %s`, PowerExpr(activePower, subMeters), s.From(), s.Where(start, stop))
	if agg == AggregateNone {
		return inner
	}
	return fmt.Sprintf(`SELECT %s("value") AS "value" FROM (%s) WHERE time >= %d AND time < %d GROUP BY time(%s) fill(none)`,
		agg, inner, start.UnixNano(), stop.UnixNano(), Duration(every))
}

// CountStatement counts the points of one field in [start, stop).
func CountStatement(s Selection, field string, start, stop time.Time) string {
	return fmt.Sprintf(`SELECT count(%s) FROM %s WHERE %s`, Ident(field), s.From(), s.Where(start, stop))
}
