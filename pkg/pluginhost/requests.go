package pluginhost

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/backend/gtime"
)

// PanelRequest is the QueryDataRequest Grafana builds from a panel's
// /api/ds/query call: every query model gets the panel's maxDataPoints (its
// width in pixels) and the interval Grafana's front end computes for it (the
// range over maxDataPoints, rounded to Grafana's steps, at least
// minInterval, the panel's "Min interval"); a model's own values win, as in
// Grafana. The time range is the dashboard's, and the model JSON is passed
// whole.
func PanelRequest(from, to time.Time, maxDataPoints int64, minInterval time.Duration, models ...map[string]any) (*backend.QueryDataRequest, error) {
	interval := max(gtime.RoundInterval(to.Sub(from)/time.Duration(max(maxDataPoints, 1))), minInterval)
	req := &backend.QueryDataRequest{Headers: map[string]string{}}
	for i, m := range models {
		model := map[string]any{"intervalMs": interval.Milliseconds(), "maxDataPoints": maxDataPoints}
		for k, v := range m {
			model[k] = v
		}
		refID, _ := model["refId"].(string)
		if refID == "" {
			return nil, fmt.Errorf("query %d has no refId", i)
		}
		raw, err := json.Marshal(model)
		if err != nil {
			return nil, fmt.Errorf("query %s: %w", refID, err)
		}
		queryType, _ := model["queryType"].(string)
		req.Queries = append(req.Queries, backend.DataQuery{
			RefID:         refID,
			QueryType:     queryType,
			MaxDataPoints: number(model["maxDataPoints"]),
			Interval:      time.Duration(number(model["intervalMs"])) * time.Millisecond,
			TimeRange:     backend.TimeRange{From: from, To: to},
			JSON:          raw,
		})
	}
	return req, nil
}

// number reads a JSON number that may arrive as any Go numeric type.
func number(v any) int64 {
	switch n := v.(type) {
	case int:
		return int64(n)
	case int64:
		return n
	case float64:
		return int64(n)
	case json.Number:
		i, _ := n.Int64()
		return i
	}
	return 0
}
