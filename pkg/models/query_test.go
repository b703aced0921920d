package models

import (
	"strings"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
)

var testSettings = Settings{URL: "http://influx:8086", DefaultBucket: "printer/autogen", Timeout: time.Second, MaxPoints: 10}

func dataQuery(queryType, js string) backend.DataQuery {
	from := time.Date(2016, 1, 1, 0, 0, 0, 0, time.UTC)
	return backend.DataQuery{RefID: "A", QueryType: queryType, JSON: []byte(js),
		TimeRange: backend.TimeRange{From: from, To: from.Add(time.Hour)}, Interval: time.Minute}
}

func TestParseQueryFlux(t *testing.T) {
	q, err := ParseQuery(dataQuery("", `{"queryType":"flux","flux":"buckets()"}`), testSettings)
	if err != nil {
		t.Fatal(err)
	}
	if q.Type != QueryTypeFlux || q.Flux != "buckets()" || q.Bucket != "printer/autogen" || q.RefID != "A" {
		t.Fatalf("unexpected query %+v", q)
	}
	q, err = ParseQuery(dataQuery("flux", `{"bucket":" house/autogen ","flux":"x"}`), testSettings)
	if err != nil {
		t.Fatal(err)
	}
	if q.Bucket != "house/autogen" {
		t.Fatalf("bucket %q", q.Bucket)
	}
}

func TestParseQueryErrors(t *testing.T) {
	backwards := dataQuery("flux", `{"flux":"x"}`)
	backwards.TimeRange.From, backwards.TimeRange.To = backwards.TimeRange.To, backwards.TimeRange.From
	tests := []struct {
		name    string
		q       backend.DataQuery
		field   string
		message string
	}{
		{"not json", dataQuery("flux", `{`), "query", "not valid JSON"},
		{"missing type", dataQuery("", `{}`), "queryType", "is missing: use one of flux"},
		{"unknown type", dataQuery("sql", `{}`), "queryType", `"sql" is not a Vigil query type`},
		{"empty flux", dataQuery("flux", `{"flux":"  "}`), "flux", "is empty"},
		{"control char in bucket", dataQuery("flux", `{"flux":"x","bucket":"a\u0000b"}`), "bucket", "control character"},
		{"backwards range", backwards, "timeRange", "must be after the start"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseQuery(tt.q, testSettings)
			qe, ok := err.(*QueryError)
			if !ok {
				t.Fatalf("got %v (%T), want *QueryError", err, err)
			}
			if qe.Field != tt.field || !strings.Contains(qe.Error(), tt.message) || !strings.Contains(qe.Error(), `"`+tt.field+`"`) {
				t.Fatalf("got %q, want field %q and %q", qe.Error(), tt.field, tt.message)
			}
		})
	}
}
