package pluginhost

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"
	"github.com/grafana/grafana-plugin-sdk-go/genproto/pluginv2"
)

// Grafana Live, as far as a plugin sees it: every viewer's subscription is
// checked with SubscribeStream (which may answer initial data); the first
// subscriber of a channel (data source + path) starts one RunStream with its
// data, and every frame it sends goes to all subscribers of that channel;
// when the plugin exits the stream is run again once it is back; when the
// last subscriber leaves, the stream's context is cancelled.

// Subscription is one viewer of a channel.
type Subscription struct {
	// Initial is the SubscribeStream response's initial data, nil if none.
	Initial *data.Frame
	// Frames receives every frame the channel's stream sends after the
	// subscription; it is closed by Close.
	Frames <-chan *data.Frame

	frames chan *data.Frame
	ch     *channel
	once   sync.Once
}

// channel is one running stream and its subscribers.
type channel struct {
	key    string
	cancel context.CancelFunc
	mu     sync.Mutex
	subs   map[*Subscription]bool
	// Runs counts RunStream calls (1 + restarts); Dropped counts frames a
	// slow subscriber could not take.
	runs, dropped int
	lastErr       error
}

// subscriberBuffer is how many frames a subscriber may fall behind before
// frames are dropped for it (and counted, see ChannelStats).
const subscriberBuffer = 4096

// Subscribe subscribes a viewer to path (e.g. "ttest/temperatures/hotend")
// of the data source with the query JSON as the subscription's data. A
// refusal (SubscribeStream status not OK) is an error.
func (h *Host) Subscribe(ctx context.Context, dsUID, path string, query json.RawMessage) (*Subscription, error) {
	pc, err := h.pluginContext(dsUID)
	if err != nil {
		return nil, err
	}
	c, _, _ := h.current()
	resp, err := c.stream.SubscribeStream(ctx, &pluginv2.SubscribeStreamRequest{
		PluginContext: backend.ToProto().PluginContext(pc), Path: path, Data: query,
	})
	h.record("SubscribeStream", map[string]any{"path": path, "status": resp.GetStatus().String(), "data": string(resp.GetData())}, err)
	if err != nil {
		return nil, err
	}
	if resp.Status != pluginv2.SubscribeStreamResponse_OK {
		return nil, &RefusedError{Path: path, Status: resp.Status.String()}
	}
	sub := &Subscription{frames: make(chan *data.Frame, subscriberBuffer)}
	sub.Frames = sub.frames
	if len(resp.Data) > 0 {
		var f data.Frame
		if err := json.Unmarshal(resp.Data, &f); err != nil {
			return nil, fmt.Errorf("initial data of %s: %w", path, err)
		}
		sub.Initial = &f
	}
	key := dsUID + "/" + path
	h.mu.Lock()
	if h.channels == nil {
		h.channels = map[string]*channel{}
	}
	ch := h.channels[key]
	if ch == nil {
		runCtx, cancel := context.WithCancel(context.Background())
		ch = &channel{key: key, cancel: cancel, subs: map[*Subscription]bool{}}
		h.channels[key] = ch
		go h.run(runCtx, ch, dsUID, path, query)
	}
	h.mu.Unlock()
	ch.mu.Lock()
	ch.subs[sub] = true
	ch.mu.Unlock()
	sub.ch = ch
	return sub, nil
}

// RefusedError is a subscription the plugin refused.
type RefusedError struct{ Path, Status string }

func (e *RefusedError) Error() string {
	return fmt.Sprintf("subscription to %s refused: %s", e.Path, e.Status)
}

// Close leaves the channel; the last subscriber to leave stops its stream.
func (s *Subscription) Close(h *Host) {
	s.once.Do(func() {
		ch := s.ch
		ch.mu.Lock()
		delete(ch.subs, s)
		last := len(ch.subs) == 0
		close(s.frames)
		ch.mu.Unlock()
		if last {
			h.mu.Lock()
			if h.channels[ch.key] == ch {
				delete(h.channels, ch.key)
			}
			h.mu.Unlock()
			ch.cancel()
		}
	})
}

// ChannelStats reports how often a channel's stream was run and how many
// frames were dropped for slow subscribers.
func (h *Host) ChannelStats(dsUID, path string) (runs, dropped int, lastErr error) {
	h.mu.Lock()
	ch := h.channels[dsUID+"/"+path]
	h.mu.Unlock()
	if ch == nil {
		return 0, 0, nil
	}
	ch.mu.Lock()
	defer ch.mu.Unlock()
	return ch.runs, ch.dropped, ch.lastErr
}

// run keeps RunStream going until ctx ends: after the plugin exits it waits
// for the plugin to be started again (or retries each second, as Grafana's
// stream manager does) and runs the stream anew.
func (h *Host) run(ctx context.Context, ch *channel, dsUID, path string, query json.RawMessage) {
	for ctx.Err() == nil {
		c, _, restarted := h.current()
		err := h.runOnce(ctx, c, ch, dsUID, path, query)
		if ctx.Err() != nil {
			return
		}
		ch.mu.Lock()
		ch.lastErr = err
		ch.mu.Unlock()
		select {
		case <-ctx.Done():
		case <-restarted:
		case <-time.After(time.Second):
		}
	}
}

func (h *Host) runOnce(ctx context.Context, c clients, ch *channel, dsUID, path string, query json.RawMessage) error {
	pc, err := h.pluginContext(dsUID)
	if err != nil {
		return err
	}
	ch.mu.Lock()
	ch.runs++
	ch.mu.Unlock()
	stream, err := c.stream.RunStream(ctx, &pluginv2.RunStreamRequest{
		PluginContext: backend.ToProto().PluginContext(pc), Path: path, Data: query,
	})
	if err != nil {
		return err
	}
	for {
		packet, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return errors.New("the stream ended")
		}
		h.record("RunStream", map[string]any{"path": path, "data": string(packet.GetData())}, err)
		if err != nil {
			return err
		}
		var f data.Frame
		if err := json.Unmarshal(packet.Data, &f); err != nil {
			return fmt.Errorf("a frame of %s: %w", path, err)
		}
		ch.mu.Lock()
		for sub := range ch.subs {
			select {
			case sub.frames <- &f:
			default:
				ch.dropped++
			}
		}
		ch.mu.Unlock()
	}
}
