package alerteval

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
)

// Grafana's defaults for an alert query's model (ngalert's AlertQuery):
// 43200 data points (12 h at 1 s) and a 1 s interval.
const (
	DefaultMaxDataPoints = 43200
	DefaultIntervalMS    = 1000
)

// DatasourceRequest is one QueryData request and the data source it goes to.
type DatasourceRequest struct {
	DatasourceUID string
	Request       *backend.QueryDataRequest
}

// BuildRequests builds the QueryData requests Grafana's alerting sends for
// rule's data source queries evaluated at now: one request per data source
// holding all its queries, in order of first appearance. Each query:
//   - RefID, and QueryType from the model's "queryType" (AlertQuery.PreSave);
//   - MaxDataPoints and Interval from the model's "maxDataPoints" and
//     "intervalMs", else 43200 and 1 s, both also written into the JSON
//     (AlertQuery.GetModel);
//   - TimeRange now-From .. now-To (RelativeTimeRange.ToTimeRange);
//   - JSON: the model.
//
// Headers are FromAlert: true and X-Cache-Skip: true, plus X-Rule-Uid and
// X-Grafana-Org-Id when the rule has a UID (eval.buildDatasourceHeaders).
func BuildRequests(rule Rule, now time.Time) ([]DatasourceRequest, error) {
	headers := map[string]string{"FromAlert": "true", "X-Cache-Skip": "true"}
	if rule.UID != "" {
		org := rule.OrgID
		if org == 0 {
			org = 1
		}
		headers["X-Rule-Uid"] = rule.UID
		headers["X-Grafana-Org-Id"] = strconv.FormatInt(org, 10)
	}
	var out []DatasourceRequest
	index := map[string]int{}
	for _, q := range rule.Data {
		if q.IsExpression() {
			continue
		}
		if q.RefID == "" || q.DatasourceUID == "" {
			return nil, fmt.Errorf("query %q: refId and datasourceUid are required", q.RefID)
		}
		if q.RelativeTimeRange.From <= q.RelativeTimeRange.To || q.RelativeTimeRange.To < 0 {
			return nil, fmt.Errorf("query %s: invalid relative time range from %d to %d (need from > to >= 0)", q.RefID, q.RelativeTimeRange.From, q.RelativeTimeRange.To)
		}
		dq, err := dataQuery(q, now)
		if err != nil {
			return nil, err
		}
		i, ok := index[q.DatasourceUID]
		if !ok {
			i = len(out)
			index[q.DatasourceUID] = i
			h := make(map[string]string, len(headers))
			for k, v := range headers {
				h[k] = v
			}
			out = append(out, DatasourceRequest{DatasourceUID: q.DatasourceUID, Request: &backend.QueryDataRequest{Headers: h}})
		}
		out[i].Request.Queries = append(out[i].Request.Queries, dq)
	}
	return out, nil
}

func dataQuery(q Query, now time.Time) (backend.DataQuery, error) {
	model := make(map[string]any, len(q.Model)+2)
	for k, v := range q.Model {
		model[k] = v
	}
	maxDP, err := modelNumber(model, "maxDataPoints", DefaultMaxDataPoints)
	if err != nil {
		return backend.DataQuery{}, fmt.Errorf("query %s: %w", q.RefID, err)
	}
	intervalMS, err := modelNumber(model, "intervalMs", DefaultIntervalMS)
	if err != nil {
		return backend.DataQuery{}, fmt.Errorf("query %s: %w", q.RefID, err)
	}
	model["maxDataPoints"] = maxDP
	model["intervalMs"] = intervalMS
	queryType := q.QueryType
	if v, ok := model["queryType"]; ok {
		s, ok := v.(string)
		if !ok {
			return backend.DataQuery{}, fmt.Errorf("query %s: queryType is %T, not a string", q.RefID, v)
		}
		if s != "" {
			queryType = s
		}
	}
	raw, err := json.Marshal(model)
	if err != nil {
		return backend.DataQuery{}, fmt.Errorf("query %s: model: %w", q.RefID, err)
	}
	return backend.DataQuery{
		RefID:         q.RefID,
		QueryType:     queryType,
		MaxDataPoints: int64(maxDP),
		Interval:      time.Duration(intervalMS) * time.Millisecond,
		TimeRange: backend.TimeRange{
			From: now.Add(-time.Duration(q.RelativeTimeRange.From) * time.Second),
			To:   now.Add(-time.Duration(q.RelativeTimeRange.To) * time.Second),
		},
		JSON: raw,
	}, nil
}

// modelNumber reads a positive number from the model (JSON and YAML both
// give float64 or int), else def.
func modelNumber(model map[string]any, key string, def float64) (float64, error) {
	v, ok := model[key]
	if !ok || v == nil {
		return def, nil
	}
	var f float64
	switch n := v.(type) {
	case float64:
		f = n
	case int:
		f = float64(n)
	case int64:
		f = float64(n)
	case uint64:
		f = float64(n)
	case json.Number:
		x, err := n.Float64()
		if err != nil {
			return 0, fmt.Errorf("%s: %w", key, err)
		}
		f = x
	default:
		return 0, fmt.Errorf("%s is %T, not a number", key, v)
	}
	if f <= 0 {
		return def, nil
	}
	return f, nil
}

// refIDs returns the sorted keys of m, for stable output.
func refIDs[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
