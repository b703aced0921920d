package models

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
)

// QueryType selects what a query computes.
type QueryType string

// The query types Vigil answers.
const (
	QueryTypeFlux QueryType = "flux"
)

// supportedQueryTypes lists the query types this build answers, for messages.
var supportedQueryTypes = []QueryType{QueryTypeFlux}

// Query is one validated query. Fields that do not apply to its type are empty.
type Query struct {
	RefID     string
	Type      QueryType
	Bucket    string
	Flux      string
	TimeRange backend.TimeRange
	// Interval is Grafana's suggested step for the panel (v.windowPeriod).
	Interval time.Duration
}

// queryJSON is the query as the front end, dashboards and alert rules send it.
type queryJSON struct {
	QueryType   string            `json:"queryType"`
	Bucket      string            `json:"bucket"`
	Measurement string            `json:"measurement"`
	Tags        map[string]string `json:"tags"`
	Flux        string            `json:"flux"`
}

// QueryError is a query field that cannot be used; the message names the field.
type QueryError struct {
	Field  string
	Reason string
}

func (e *QueryError) Error() string {
	return fmt.Sprintf("query field %q: %s", e.Field, e.Reason)
}

// ParseQuery decodes and validates one data query against the data source settings.
func ParseQuery(q backend.DataQuery, s Settings) (Query, error) {
	var raw queryJSON
	if err := json.Unmarshal(q.JSON, &raw); err != nil {
		return Query{}, &QueryError{"query", "is not valid JSON: " + err.Error()}
	}
	qt := q.QueryType
	if qt == "" {
		qt = raw.QueryType
	}
	out := Query{
		RefID:     q.RefID,
		Type:      QueryType(strings.TrimSpace(qt)),
		Bucket:    strings.TrimSpace(raw.Bucket),
		TimeRange: q.TimeRange,
		Interval:  q.Interval,
	}
	if out.Bucket == "" {
		out.Bucket = s.DefaultBucket
	}
	if err := checkPrintable("bucket", out.Bucket); err != nil {
		return Query{}, &QueryError{"bucket", err.(*SettingsError).Reason}
	}
	if !q.TimeRange.To.After(q.TimeRange.From) {
		return Query{}, &QueryError{"timeRange", fmt.Sprintf("the end (%s) must be after the start (%s)", q.TimeRange.To.UTC().Format(time.RFC3339), q.TimeRange.From.UTC().Format(time.RFC3339))}
	}
	switch out.Type {
	case QueryTypeFlux:
		out.Flux = raw.Flux
		if strings.TrimSpace(out.Flux) == "" {
			return Query{}, &QueryError{"flux", "is empty: write a Flux script, e.g. from(bucket: v.bucket) |> range(start: v.timeRangeStart, stop: v.timeRangeStop)"}
		}
	case "":
		return Query{}, &QueryError{"queryType", "is missing: use one of " + typeList()}
	default:
		return Query{}, &QueryError{"queryType", fmt.Sprintf("%q is not a Vigil query type: use one of %s", out.Type, typeList())}
	}
	return out, nil
}

func typeList() string {
	names := make([]string, len(supportedQueryTypes))
	for i, t := range supportedQueryTypes {
		names[i] = string(t)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}
