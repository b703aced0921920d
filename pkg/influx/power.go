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

// PowerRead is one read of the unmetered energy: every point in
// [Start, Stop) (AggregateNone), or its aggregate over intervals of width Every.
type PowerRead struct {
	Selection   Selection
	ActivePower string
	SubMeters   []string
	Start, Stop time.Time
	Aggregate   Aggregate
	Every       time.Duration
}

// Statement is the InfluxQL of the read. Aggregating the per-point values in
// a subquery keeps the skip rule exact for every aggregate (mean, sum and
// max alike): a point missing an input is left out before aggregation, not
// counted as 0.
func (p PowerRead) Statement() string {
	s := p.Selection
	inner := fmt.Sprintf(`SELECT %s AS "value" FROM %s WHERE %s`, PowerExpr(p.ActivePower, p.SubMeters), s.From(), s.Where(p.Start, p.Stop))
	if p.Aggregate == AggregateNone {
		return inner
	}
	return fmt.Sprintf(`SELECT %s("value") AS "value" FROM (%s) WHERE %s GROUP BY time(%s) fill(none)`,
		p.Aggregate, inner, TimeRange(p.Start, p.Stop), Duration(p.Every))
}
