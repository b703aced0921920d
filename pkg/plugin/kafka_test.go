package plugin

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestKafkaFuturePointsNotice: a message dated a day ahead of the clock is
// left out of a kafka query and of its Live stream, and both say so (the
// query's notice; the stream's notice and meta.custom.futurePoints), with
// the data source's kafkaFutureToleranceSeconds.
func TestKafkaFuturePointsNotice(t *testing.T) {
	now := time.Now().Truncate(time.Second)
	var recs []*kgo.Record
	for i := range 600 {
		recs = append(recs, &kgo.Record{Value: fmt.Appendf(nil, "sensor temp=%d %d", i%9, now.Add(time.Duration(i-600)*time.Second).UnixNano())})
		if i == 300 {
			recs = append(recs, &kgo.Record{Value: fmt.Appendf(nil, "sensor temp=99 %d", now.Add(24*time.Hour).UnixNano())})
		}
	}
	brokers := topicWith(t, recs)
	ds := newDatasource(t, "http://127.0.0.1:1", fmt.Sprintf(`{"defaultBucket":"b/autogen","kafkaBrokers":%q,"timeout":5,"kafkaFutureToleranceSeconds":120}`, brokers), "")
	query := `{"queryType":"kafka","topic":"t","measurement":"sensor","fields":["temp"],"window":"10s","history":20,"settle":"100ms"}`
	const says = "left out 1 point(s) dated more than 2m0s ahead of the clock (kafkaFutureToleranceSeconds)"
	has := func(ns []data.Notice) bool {
		for _, n := range ns {
			if strings.Contains(n.Text, says) {
				return true
			}
		}
		return false
	}

	f := subscribe(t, ds, channel(t, "kafka", query), query)
	custom, _ := f.Meta.Custom.(map[string]any)
	if f.Rows() == 0 || !has(notices(f)) || custom["futurePoints"] != float64(1) {
		t.Fatalf("Live: %d rows, notices %+v, custom %v", f.Rows(), notices(f), f.Meta.Custom)
	}

	resp, err := ds.QueryData(context.Background(), &backend.QueryDataRequest{Queries: []backend.DataQuery{{
		RefID: "A", JSON: json.RawMessage(query), MaxDataPoints: 1000,
		TimeRange: backend.TimeRange{From: now.Add(-10 * time.Minute), To: now.Add(48 * time.Hour)},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	r := resp.Responses["A"]
	if r.Error != nil || len(r.Frames) == 0 {
		t.Fatalf("query: %v, %d frames", r.Error, len(r.Frames))
	}
	if !has(notices(r.Frames[0])) {
		t.Fatalf("query: notices %+v", notices(r.Frames[0]))
	}
}

// topicWith starts a one-broker Kafka cluster in the test (kfake) whose
// topic "t" holds recs, produced in order, and returns its address.
func topicWith(t *testing.T, recs []*kgo.Record) string {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "t"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.DefaultProduceTopic("t"))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if err := cl.ProduceSync(context.Background(), recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	return c.ListenAddrs()[0]
}
