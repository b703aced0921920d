package ttest

import (
	"context"
	"time"

	"github.com/vigil/vigil-anomaly-datasource/pkg/models"
)

// Live is a t-test that goes on as data arrives, on the same kept state as
// queries and alert evaluations (a Cache): each Poll asks the cache for the
// windows complete by the clock (their end at least Settle ago) and returns
// those not sent yet. The cache reads only what is new, takes late points
// for recent windows into its state (a window already sent stays as sent;
// the history and the windows after it include them), and answers what a
// query over the same range answers.
//
// After a failed read no window is closed until InfluxDB has answered again
// for Settle: writers that buffered points while it was away replay them
// first, so their windows are not closed without them.
type Live struct {
	req   Request
	cache *Cache
	// sent is the end of the last window sent (ns).
	sent int64
	// Settle is how long after a window's end its points may still be
	// arriving; Poll closes a window only after it.
	Settle time.Duration
	// failed: the last read failed; answering: when reads succeeded again.
	failed    bool
	answering time.Time
}

// StartLive runs the t-test over [req.From, req.To) in points mode through
// cache (the initial rows a subscriber sees) and returns the live state
// positioned at the end of the last complete window.
func StartLive(ctx context.Context, src Source, cache *Cache, req Request) (*Live, *Outcome, error) {
	req.Mode = models.ModePoints
	out, err := cache.Run(ctx, src, req)
	if err != nil {
		return nil, nil, err
	}
	l := &Live{req: req, cache: cache, sent: alignDown(req.To, req.Window).UnixNano(), Settle: 100 * time.Millisecond}
	return l, out, nil
}

// Poll returns the windows completed since the last Poll, per series (only
// series with new windows). On error nothing is lost or sent twice: the
// next Poll goes on from the last window sent.
func (l *Live) Poll(ctx context.Context, src Source, now time.Time) ([]*Series, error) {
	req := l.req
	req.From, req.To = time.Unix(0, l.sent).UTC(), now.Add(-l.Settle)
	if l.failed || now.Sub(l.answering) < l.Settle {
		// Just after an outage: read, but close no new window yet.
		req.To = req.From
	}
	if !req.To.After(req.From) {
		req.To = req.From.Add(time.Nanosecond)
	}
	out, err := l.cache.Run(ctx, src, req)
	switch {
	case err != nil:
		l.failed = true
		return nil, err
	case l.failed:
		l.failed, l.answering = false, now
	}
	if stop := alignDown(req.To, req.Window).UnixNano(); stop > l.sent {
		l.sent = stop
	}
	return out.Series, nil
}
