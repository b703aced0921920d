package plugin

import (
	"context"
	"fmt"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/vigil/vigil-anomaly-datasource/pkg/analysis"
	"github.com/vigil/vigil-anomaly-datasource/pkg/frames"
	"github.com/vigil/vigil-anomaly-datasource/pkg/kafka"
	"github.com/vigil/vigil-anomaly-datasource/pkg/models"
	"github.com/vigil/vigil-anomaly-datasource/pkg/ttest"
)

// runKafka answers a kafka query from the topic's retained messages: the
// points of the range and its warm-up lookback go into a Store, which the
// t-test reads exactly as it reads InfluxDB.
func (d *Datasource) runKafka(ctx context.Context, q models.Query) (data.Frames, error) {
	req := ttestRequest(q, d.settings.MaxPoints)
	store, sum, err := d.topics.Load(ctx, q, req.From.Add(-ttest.MaxLookback(req.Window)), req.To, d.settings.MaxPoints)
	if err != nil {
		return nil, err
	}
	out, err := ttest.Run(ctx, store, req)
	if err != nil {
		return nil, err
	}
	out.Scripts = []string{sum.Describe()}
	out.Notices = append(sum.Notices, out.Notices...)
	return frames.TTest(out, q.TTest.Output, q.TTest.Alpha), nil
}

// checkKafka asks the brokers for metadata when the data source has some;
// it returns what to add to the health message.
func (d *Datasource) checkKafka(ctx context.Context) (string, error) {
	if d.topics == nil {
		return "", nil
	}
	brokers, topics, err := d.topics.Check(ctx)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf(" Kafka: %d broker(s) answered, %d topic(s).", brokers, topics), nil
}

// kafkaStepper is a kafka channel's live state: a follower of the topic
// and the live t-test over it.
type kafkaStepper struct {
	topics *kafka.Client
	lq     liveQuery
	follow *kafka.Follower
	dec    *kafka.Decoder
	win    *kafka.Windows
	// notice is the last malformed-message notice sent; late the late
	// points reported so far.
	notice string
	late   int64
}

// start reads the retained messages (the warm-up) and returns the last
// hour, in event time, of the windows they close.
func (k *kafkaStepper) start(ctx context.Context, _ time.Time) (*data.Frame, error) {
	if k.follow != nil {
		k.follow.Close()
	}
	q := k.lq.query
	f, err := k.topics.Follow(ctx, q.Kafka.Topic)
	if err != nil {
		return nil, err
	}
	k.follow, k.dec = f, kafka.NewDecoder(q)
	k.win = kafka.NewWindows(analysis.Config{History: q.TTest.History, Alpha: q.TTest.Alpha}, q.TTest.Window, q.TTest.Fields)
	k.win.Idle = k.lq.settle
	f.Pending(k.win)
	var all []*ttest.Series
	for !f.Retained() {
		n, err := f.Poll(ctx, k.topics.Timeout(), k.dec, k.win)
		if err != nil {
			return nil, err
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		all = append(all, k.win.Emit(time.Now())...)
		if n == 0 {
			// Nothing for a whole timeout: a partition ends short of its
			// end offset (transaction markers, compaction).
			f.StopWaiting(k.win)
		}
	}
	k.win.Delivered()
	all = append(all, k.win.Emit(time.Now())...)
	return k.frame(lastHour(all, time.Unix(0, k.win.Closed()).Add(-liveInitialRange))), nil
}

// poll waits for new messages and returns the windows they close.
func (k *kafkaStepper) poll(ctx context.Context, _ time.Time) (*data.Frame, error) {
	_, err := k.follow.Poll(ctx, k.lq.poll, k.dec, k.win)
	series := k.win.Emit(time.Now())
	if len(series) == 0 {
		return nil, err
	}
	return k.frame(series), err
}

func (k *kafkaStepper) frame(series []*ttest.Series) *data.Frame {
	f := frames.TTestLive(series, k.lq.query.TTest.Output, k.lq.query.TTest.Alpha)
	if n := k.dec.Notice(); n != "" && n != k.notice {
		k.notice = n
		f.Meta.Notices = append(f.Meta.Notices, data.Notice{Severity: data.NoticeSeverityWarning, Text: n})
	}
	if k.win.Late > k.late {
		k.late = k.win.Late
		f.Meta.Custom = map[string]any{"latePoints": k.late}
		f.Meta.Notices = append(f.Meta.Notices, data.Notice{Severity: data.NoticeSeverityWarning, Text: fmt.Sprintf(
			"%d point(s) arrived after their window was streamed and are not in it; a query over the range includes them", k.late)})
	}
	return f
}

func (k *kafkaStepper) close() {
	if k.follow != nil {
		k.follow.Close()
	}
}

// lastHour keeps the windows that end after from.
func lastHour(all []*ttest.Series, from time.Time) []*ttest.Series {
	byKey := map[string]*ttest.Series{}
	var out []*ttest.Series
	for _, s := range all {
		key := fmt.Sprint(s.Field, s.Tags)
		m := byKey[key]
		if m == nil {
			m = &ttest.Series{Field: s.Field, Tags: s.Tags}
			byKey[key] = m
			out = append(out, m)
		}
		for i, t := range s.Ends {
			if t.After(from) {
				m.Ends, m.Results = append(m.Ends, t), append(m.Results, s.Results[i])
			}
		}
	}
	return out
}
