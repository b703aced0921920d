// Package kafka reads Kafka topics for Vigil's kafka queries through
// franz-go: a topic's retained messages (for a time range) and the messages
// that follow (Live). It decodes InfluxDB line protocol or JSON into the
// points a query selects, and keeps them in a Store that answers the
// t-test's reads as InfluxDB would.
package kafka

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"github.com/vigil/vigil-anomaly-datasource/pkg/models"
)

// Client is one data source's connection to its Kafka brokers.
type Client struct {
	opts    []kgo.Opt
	admin   *kgo.Client
	timeout time.Duration
	sasl    bool
	index   Index
	// MetadataMaxAge is how often a Live stream looks for new partitions.
	MetadataMaxAge time.Duration
	// LiveIdle is how long (event time) a Live series may be silent before
	// it is forgotten; FutureTolerance how far ahead of Now a point's time
	// may be before it is left out (kafkaLiveIdleSeconds,
	// kafkaFutureToleranceSeconds). Zero: the defaults.
	LiveIdle, FutureTolerance time.Duration
	// Now is the wall clock (tests set their own).
	Now func() time.Time
}

// Error is a Kafka failure with its cause in words (unreachable, auth
// refused, TLS, missing topic). It never holds the password.
type Error struct {
	Cause string
	Err   error
}

func (e *Error) Error() string { return "Kafka: " + e.Cause + ": " + e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// New returns a client for the settings' brokers; it connects lazily.
func New(c models.KafkaConnection, timeout time.Duration) (*Client, error) {
	opts := []kgo.Opt{kgo.SeedBrokers(c.Brokers...), kgo.DialTimeout(timeout), kgo.RetryTimeout(timeout)}
	if c.ClientID != "" {
		opts = append(opts, kgo.ClientID(c.ClientID))
	}
	switch c.SASLMechanism {
	case "PLAIN":
		opts = append(opts, kgo.SASL(plain.Auth{User: c.User, Pass: c.Password}.AsMechanism()))
	case "SCRAM-SHA-256":
		opts = append(opts, kgo.SASL(scram.Auth{User: c.User, Pass: c.Password}.AsSha256Mechanism()))
	case "SCRAM-SHA-512":
		opts = append(opts, kgo.SASL(scram.Auth{User: c.User, Pass: c.Password}.AsSha512Mechanism()))
	}
	if c.TLS {
		opts = append(opts, kgo.DialTLSConfig(&tls.Config{MinVersion: tls.VersionTLS12}))
	}
	admin, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, err
	}
	return &Client{opts: opts, admin: admin, timeout: timeout, sasl: c.SASLMechanism != "", MetadataMaxAge: 10 * time.Second,
		LiveIdle: c.LiveIdle, FutureTolerance: c.FutureTolerance, Now: time.Now}, nil
}

// options are the client's options followed by extra, in a slice of their
// own: appending to c.opts, whose capacity may exceed its length, would let
// concurrent reads write into one array and take each other's topics.
func (c *Client) options(extra ...kgo.Opt) []kgo.Opt {
	return slices.Concat(c.opts, extra)
}

// Close closes the client's connections.
func (c *Client) Close() { c.admin.Close() }

// Check asks the brokers for their metadata (Save & test).
func (c *Client) Check(ctx context.Context) (brokers, topics int, err error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	md, err := kadm.NewClient(c.admin).Metadata(ctx)
	if err != nil {
		return 0, 0, c.explain(err)
	}
	return len(md.Brokers), len(md.Topics), nil
}

// explain names the cause of a client error.
func (c *Client) explain(err error) error {
	var ke *Error
	var unknownAuthority x509.UnknownAuthorityError
	var hostname x509.HostnameError
	var certInvalid x509.CertificateInvalidError
	var header tls.RecordHeaderError
	var netErr net.Error
	switch {
	case errors.As(err, &ke):
		return err
	case c.sasl && errors.Is(err, io.EOF):
		// Some brokers close the connection on bad credentials instead of answering.
		return &Error{"authentication refused: the broker closed the connection during SASL authentication (check kafkaSaslMechanism, kafkaUser and kafkaPassword)", err}
	case errors.Is(err, kerr.SaslAuthenticationFailed), errors.Is(err, kerr.UnsupportedSaslMechanism),
		errors.Is(err, kerr.IllegalSaslState), errors.Is(err, kerr.TopicAuthorizationFailed),
		errors.Is(err, kerr.ClusterAuthorizationFailed):
		return &Error{"authentication refused (check kafkaSaslMechanism, kafkaUser and kafkaPassword)", err}
	case errors.As(err, &unknownAuthority), errors.As(err, &hostname), errors.As(err, &certInvalid),
		errors.As(err, &header), strings.Contains(err.Error(), "tls:"):
		return &Error{"TLS handshake failed (check kafkaTls and the brokers' certificates)", err}
	case errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, context.DeadlineExceeded),
		errors.As(err, &netErr), errors.Is(err, kgo.ErrClientClosed):
		return &Error{"brokers unreachable (check kafkaBrokers)", err}
	}
	return &Error{"request failed", err}
}

// Offsets are each partition's first and end (next to be written) offsets.
type Offsets map[int32][2]int64

// unread are the end offsets of the partitions that hold messages.
func (o Offsets) unread() map[int32]int64 {
	end := map[int32]int64{}
	for p, r := range o {
		if r[0] < r[1] {
			end[p] = r[1]
		}
	}
	return end
}

// Offsets lists the topic's partitions' start and end offsets; a topic that
// does not exist is an *Error.
func (c *Client) Offsets(ctx context.Context, topic string) (Offsets, error) {
	adm := kadm.NewClient(c.admin)
	starts, err := adm.ListStartOffsets(ctx, topic)
	if err == nil {
		err = starts.Error()
	}
	if errors.Is(err, kerr.UnknownTopicOrPartition) {
		return nil, &Error{fmt.Sprintf("topic %q does not exist", topic), err}
	}
	if err != nil {
		return nil, c.explain(err)
	}
	ends, err := adm.ListEndOffsets(ctx, topic)
	if err == nil {
		err = ends.Error()
	}
	if err != nil {
		return nil, c.explain(err)
	}
	out := Offsets{}
	starts.Each(func(o kadm.ListedOffset) {
		if e, ok := ends.Lookup(topic, o.Partition); ok {
			out[o.Partition] = [2]int64{o.Offset, e.Offset}
		}
	})
	return out, nil
}

// Record is one message and where it is.
type Record struct {
	At         Position
	Key, Value []byte
}

// read reads each partition's messages in offsets' [first, end) (end: the
// end offset when the read began) and passes each to fn, in offset order
// within a partition. A partition that stops short of its end offset
// (transaction markers, compaction) for the client's timeout ends there;
// the result lists such partitions. An error from fn stops the read and is
// returned.
func (c *Client) read(ctx context.Context, topic string, offsets Offsets, fn func(Record) error) ([]int32, error) {
	end := offsets.unread()
	from := map[int32]kgo.Offset{}
	for p := range end {
		from[p] = kgo.NewOffset().At(offsets[p][0])
	}
	if len(end) == 0 {
		return nil, nil
	}
	cl, err := kgo.NewClient(c.options(kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: from}))...)
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	for len(end) > 0 {
		pctx, cancel := context.WithTimeout(ctx, c.timeout)
		fetches := cl.PollFetches(pctx)
		cancel()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if pctx.Err() != nil && fetches.NumRecords() == 0 {
			// Nothing came for a whole timeout: what is left cannot be read.
			return slices.Sorted(maps.Keys(end)), nil
		}
		var ferr error
		fetches.EachError(func(_ string, _ int32, err error) {
			if !errors.Is(err, context.DeadlineExceeded) && ferr == nil {
				ferr = c.explain(err)
			}
		})
		if ferr != nil {
			return nil, ferr
		}
		var stop error
		fetches.EachPartition(func(p kgo.FetchTopicPartition) {
			last, ok := end[p.Partition]
			for _, r := range p.Records {
				if !ok || r.Offset >= last || stop != nil {
					break
				}
				stop = fn(Record{At: Position{r.Partition, r.Offset}, Key: r.Key, Value: r.Value})
				if r.Offset == last-1 {
					delete(end, p.Partition)
				}
			}
		})
		if stop != nil {
			return nil, stop
		}
	}
	return nil, nil
}

// Summary says what Load read, for the query inspector and notices.
type Summary struct {
	Topic    string
	Messages int64
	// Skipped are the messages the index showed to hold no point needed.
	Skipped int64
	Points  int64
	// Future are the points left out for being dated too far ahead of the clock.
	Future  int64
	Notices []string
}

// Describe is the executed-query text of a kafka query.
func (s Summary) Describe() string {
	return fmt.Sprintf("Kafka topic %q: read %d retained messages from every partition (skipped %d older ones that hold no point needed), kept %d points",
		s.Topic, s.Messages, s.Skipped, s.Points)
}

// Load reads the retained messages of q's topic into a Store of the
// selected points with times in [from, to).
func (c *Client) Load(ctx context.Context, q models.Query, from, to time.Time, maxPoints int64) (*Store, Summary, error) {
	dec := NewDecoder(q)
	store := NewStore(q.TTest.Fields)
	sum := Summary{Topic: q.Kafka.Topic}
	lo, hi := from.UnixNano(), to.UnixNano()
	ahead := c.ahead()
	limit := aheadLimit(c.Now(), ahead)
	offsets, err := c.Offsets(ctx, q.Kafka.Topic)
	if err != nil {
		return nil, sum, err
	}
	// Start each partition where the index says points at or after lo may be.
	key := selectionKey(dec, q.Kafka.Topic)
	seeks := Offsets{}
	read := map[int32]blocks{}
	for p, o := range offsets {
		seeks[p] = [2]int64{c.index.seek(key, p, o[0], o[1], lo), o[1]}
		sum.Skipped += seeks[p][0] - o[0]
		read[p] = blocks{}
	}
	stalled, err := c.read(ctx, q.Kafka.Topic, seeks, func(r Record) error {
		sum.Messages++
		dec.Decode(r.At, r.Key, r.Value, func(p Point) {
			// The index keeps the time as written: a block with a point
			// dated ahead stays to be read when the clock reaches it.
			read[p.At.Partition].add(p.At.Offset, p.Time)
			if p.Time > limit {
				sum.Future++
				return
			}
			if p.Time >= lo && p.Time < hi {
				sum.Points++
				store.Add(p)
			}
		})
		if sum.Points > maxPoints {
			return &models.TooManyPointsError{MaxPoints: maxPoints, Hint: "shorten the time range or the window"}
		}
		return nil
	})
	if err != nil {
		return nil, sum, err
	}
	for p, o := range seeks {
		if !slices.Contains(stalled, p) {
			c.index.record(key, p, o[0], o[1], read[p])
		}
	}
	store.Finish()
	if n := dec.Notice(); n != "" {
		sum.Notices = append(sum.Notices, n)
	}
	if sum.Future > 0 {
		sum.Notices = append(sum.Notices, FutureNotice(sum.Future, ahead))
	}
	if len(stalled) > 0 {
		sum.Notices = append(sum.Notices, fmt.Sprintf("partitions %v stopped short of their end offsets (transaction markers or compaction): read what they gave", stalled))
	}
	return store, sum, nil
}

// ahead is the client's future tolerance, or the default.
func (c *Client) ahead() time.Duration {
	if c.FutureTolerance > 0 {
		return c.FutureTolerance
	}
	return defaultAhead
}

// FutureNotice says that n points were left out for being dated more than
// ahead in the future.
func FutureNotice(n int64, ahead time.Duration) string {
	return fmt.Sprintf("left out %d point(s) dated more than %v ahead of the clock (kafkaFutureToleranceSeconds): a producer's clock or timestamps are wrong", n, ahead)
}

// Timeout is the client's request timeout (the data source's).
func (c *Client) Timeout() time.Duration { return c.timeout }
