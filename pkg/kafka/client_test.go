package kafka

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/plain"

	"github.com/vigil/vigil-anomaly-datasource/pkg/influx"
	"github.com/vigil/vigil-anomaly-datasource/pkg/models"
)

// TestOptionsNeverShared: with a client id, SASL or TLS set, the client's
// options have room to grow; each read must still get a slice of its own,
// or two concurrent reads write their topics into one array.
func TestOptionsNeverShared(t *testing.T) {
	for _, conn := range []models.KafkaConnection{
		{ClientID: "vigil"},
		{SASLMechanism: "PLAIN", User: "u", Password: "p"},
		{SASLMechanism: "SCRAM-SHA-512", User: "u", Password: "p"},
		{TLS: true},
		{ClientID: "vigil", SASLMechanism: "SCRAM-SHA-256", User: "u", Password: "p", TLS: true},
	} {
		conn.Brokers = []string{"127.0.0.1:1"}
		c, err := New(conn, time.Second)
		if err != nil {
			t.Fatal(err)
		}
		a := c.options(kgo.ConsumeTopics("a"))
		b := c.options(kgo.ConsumeTopics("b"))
		if &a[len(a)-1] == &b[len(b)-1] {
			t.Errorf("client id %q, SASL %q, TLS %v: two reads share their last option", conn.ClientID, conn.SASLMechanism, conn.TLS)
		}
		c.Close()
	}
}

// TestConcurrentLoadsKeepTheirTopics: concurrent queries of two topics
// through one client with a client id and SASL each read their own topic
// (the race detector also watches the options).
func TestConcurrentLoadsKeepTheirTopics(t *testing.T) {
	_, addr := cluster(t, 2, "a", kfake.SeedTopics(2, "b"), kfake.EnableSASL(), kfake.Superuser("PLAIN", "admin", "secret"))
	prod, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.SASL(plain.Auth{User: "admin", Pass: "secret"}.AsMechanism()),
		kgo.RecordPartitioner(kgo.RoundRobinPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer prod.Close()
	ctx := context.Background()
	t0 := time.Unix(1_700_000_000, 0)
	const n = 200
	for i := range n {
		for topic, v := range map[string]int{"a": 1, "b": 2} {
			prod.Produce(ctx, &kgo.Record{Topic: topic, Value: fmt.Appendf(nil, "temperatures hotend=%d %d", v, t0.Add(time.Duration(i)*time.Second).UnixNano())}, nil)
		}
	}
	if err := prod.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	c, err := New(models.KafkaConnection{Brokers: []string{addr}, ClientID: "vigil", SASLMechanism: "PLAIN", User: "admin", Password: "secret"}, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 6 {
				topic, want := "a", float64(n)
				if (g+i)%2 == 1 {
					topic, want = "b", 2*n
				}
				q := lineQuery(nil, "hotend")
				q.Kafka.Topic = topic
				store, _, err := c.Load(ctx, q, t0, t0.Add(time.Hour), 1e6)
				if err != nil {
					t.Error(err)
					return
				}
				got, _ := store.SeriesCounts(ctx, influx.Selection{}, t0, t0.Add(time.Hour))
				if len(got) != 1 || got[0].N != n || got[0].Sum != want {
					t.Errorf("topic %s read %+v, want %d points summing to %v", topic, got, n, want)
				}
			}
		})
	}
	wg.Wait()
}
