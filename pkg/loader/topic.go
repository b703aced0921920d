package loader

import (
	"context"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/vigil/vigil-anomaly-datasource/pkg/datagen"
)

// Topic produces line protocol (nanosecond timestamps) to a Kafka topic,
// one message per point, spread over the partitions.
type Topic struct {
	cl      *kgo.Client
	topic   string
	start   time.Time
	mu      sync.Mutex
	err     error
	written int64
}

// NewTopic produces to topic on brokers.
func NewTopic(brokers []string, topic string) (*Topic, error) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.DefaultProduceTopic(topic), kgo.AllowAutoTopicCreation())
	if err != nil {
		return nil, err
	}
	return &Topic{cl: cl, topic: topic, start: time.Now()}, nil
}

// Add produces one message; delivery errors come back from Flush.
func (t *Topic) Add(ctx context.Context, line string) error {
	if line == "" {
		return nil
	}
	t.cl.Produce(ctx, &kgo.Record{Value: []byte(line)}, func(_ *kgo.Record, err error) {
		t.mu.Lock()
		defer t.mu.Unlock()
		if err != nil && t.err == nil {
			t.err = err
		}
		if err == nil {
			t.written++
		}
	})
	return nil
}

// Flush waits until every message produced so far is delivered.
func (t *Topic) Flush(ctx context.Context) error {
	if err := t.cl.Flush(ctx); err != nil {
		return err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	err := t.err
	t.err = nil
	if err != nil {
		return fmt.Errorf("producing to Kafka topic %s: %w", t.topic, err)
	}
	return nil
}

// Line is p with a nanosecond timestamp.
func (t *Topic) Line(p datagen.PrinterPoint) string { return p.LineProtocolNs() }

// Written is the number of messages delivered so far.
func (t *Topic) Written() int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.written
}

// Report prints the messages delivered and the rate.
func (t *Topic) Report(out io.Writer, what string) { report(out, what, t.Written(), t.start) }

// Close flushes and closes the producer.
func (t *Topic) Close(ctx context.Context) error {
	err := t.Flush(ctx)
	t.cl.Close()
	return err
}
