package ttest

import (
	"github.com/vigil/vigil-anomaly-datasource/pkg/analysis"
	"github.com/vigil/vigil-anomaly-datasource/pkg/influx"
	"github.com/vigil/vigil-anomaly-datasource/pkg/models"
)

// RequestFor is the request of a parsed ttest, kafka or anomaly query over
// its range, the anomaly query's detector included (WithDetector): the one
// place a query becomes a Request, for panels, alert rules and the
// evaluation (tools/eval) alike.
func RequestFor(q models.Query, maxPoints int64) (Request, error) {
	req := Request{
		Selection: influx.Selection{Bucket: q.Bucket, Measurement: q.Measurement, Fields: q.TTest.Fields, Tags: q.Tags},
		Window:    q.TTest.Window,
		Config:    analysis.Config{History: q.TTest.History, Alpha: q.TTest.Alpha},
		From:      q.TimeRange.From,
		To:        q.TimeRange.To,
		Mode:      q.TTest.Mode,
		MaxPoints: maxPoints,
	}
	if q.Type != models.QueryTypeAnomaly {
		return req, nil
	}
	return WithDetector(req, q.Anomaly)
}
