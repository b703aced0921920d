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
	// maxPoints bounds the warm-up: the retained messages it may read.
	maxPoints int64
	// recent is the last hour sent, for new viewers.
	recent recentWindows
	// notice is the last malformed-message notice sent; late and future
	// the late points and those dated ahead of the clock reported so far.
	notice string
	late   int64
	future int64
}

// start reads the retained messages (the warm-up: at most Max points of
// them) and returns the last hour, in event time, of the windows they close.
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
	k.win = k.topics.NewWindows(analysis.Config{History: q.TTest.History, Alpha: q.TTest.Alpha}, q.TTest.Window, q.TTest.Fields)
	k.win.Idle = k.lq.settle
	f.Pending(k.win)
	read := 0
	for !f.Retained() {
		n, err := f.Poll(ctx, k.topics.Timeout(), k.dec, k.win)
		if err != nil {
			return nil, err
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if read += n; int64(read) > k.maxPoints {
			return nil, &models.TooManyPointsError{MaxPoints: k.maxPoints,
				Hint: fmt.Sprintf("the Live warm-up replays topic %q's retained messages, and it holds more: shorten the topic's retention", q.Kafka.Topic)}
		}
		k.recent.add(k.win.Emit(time.Now()))
		if n == 0 {
			// Nothing for a whole timeout: a partition ends short of its
			// end offset (transaction markers, compaction).
			f.StopWaiting(k.win)
		}
	}
	k.win.Delivered()
	k.recent.add(k.win.Emit(time.Now()))
	k.frame(nil) // the standing notices
	return k.recent.frame(k.lq), nil
}

// poll waits for new messages and returns the windows they close.
func (k *kafkaStepper) poll(ctx context.Context, _ time.Time) (*data.Frame, error) {
	_, err := k.follow.Poll(ctx, k.lq.poll, k.dec, k.win)
	series := k.win.Emit(time.Now())
	if len(series) == 0 {
		return nil, err
	}
	k.recent.add(series)
	return k.frame(series), err
}

func (k *kafkaStepper) initial() *data.Frame { return k.recent.frame(k.lq) }

func (k *kafkaStepper) frame(series []*ttest.Series) *data.Frame {
	f := frames.TTestLive(series, k.lq.query.TTest.Output, k.lq.query.TTest.Alpha)
	if n := k.dec.Notice(); n != "" && n != k.notice {
		k.notice = n
		f.Meta.Notices = append(f.Meta.Notices, data.Notice{Severity: data.NoticeSeverityWarning, Text: n})
	}
	if k.win.Late > k.late {
		k.late = k.win.Late
		f.Meta.Custom = k.counts()
		f.Meta.Notices = append(f.Meta.Notices, lateNotice(k.late))
	}
	if k.win.Future > k.future {
		k.future = k.win.Future
		f.Meta.Custom = k.counts()
		f.Meta.Notices = append(f.Meta.Notices, k.futureNotice())
	}
	// A new viewer's initial data carries the notices shown so far.
	var standing []data.Notice
	var custom map[string]any
	if k.notice != "" {
		standing = append(standing, data.Notice{Severity: data.NoticeSeverityWarning, Text: k.notice})
	}
	if k.late > 0 {
		custom = k.counts()
		standing = append(standing, lateNotice(k.late))
	}
	if k.future > 0 {
		custom = k.counts()
		standing = append(standing, k.futureNotice())
	}
	k.recent.standing(standing, custom)
	return f
}

// counts are the points left out so far, for meta.custom.
func (k *kafkaStepper) counts() map[string]any {
	c := map[string]any{"latePoints": k.late}
	if k.future > 0 {
		c["futurePoints"] = k.future
	}
	return c
}

func (k *kafkaStepper) futureNotice() data.Notice {
	return data.Notice{Severity: data.NoticeSeverityWarning, Text: kafka.FutureNotice(k.future, k.win.Ahead)}
}

func lateNotice(late int64) data.Notice {
	return data.Notice{Severity: data.NoticeSeverityWarning, Text: fmt.Sprintf(
		"%d point(s) arrived after their window was streamed and are not in it; a query over the range includes them", late)}
}

func (k *kafkaStepper) close() {
	if k.follow != nil {
		k.follow.Close()
	}
}
