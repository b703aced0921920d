package devenv

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/vigil/vigil-anomaly-datasource/pkg/alerthistory"
)

// Notification is a webhook notification (Alertmanager's version 4 payload;
// Grafana's is a superset) as the listener keeps it.
type Notification struct {
	alerthistory.Payload
	CommonLabels map[string]string `json:"commonLabels"`
}

// WebhookListener is an HTTP endpoint on 127.0.0.1 standing for the one
// Kapacitor's alert node posted to: it keeps every notification (so a test
// can wait for the one it expects without missing earlier ones) and, given
// a writer, prints a line per alert (the demo).
type WebhookListener struct {
	URL    string
	server *http.Server
	out    io.Writer

	mu       sync.Mutex
	received []Notification
	arrived  chan struct{}
}

// StartWebhookListener listens on a free loopback port; out may be nil.
func StartWebhookListener(out io.Writer) (*WebhookListener, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	w := &WebhookListener{URL: "http://" + l.Addr().String() + "/", out: out, arrived: make(chan struct{}, 1)}
	w.server = &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(w.receive)}
	go func() { _ = w.server.Serve(l) }()
	return w, nil
}

func (w *WebhookListener) receive(rw http.ResponseWriter, r *http.Request) {
	var n Notification
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&n); err != nil {
		http.Error(rw, "not a notification", http.StatusBadRequest)
		return
	}
	w.mu.Lock()
	w.received = append(w.received, n)
	w.mu.Unlock()
	select {
	case w.arrived <- struct{}{}:
	default:
	}
	if w.out == nil {
		return
	}
	for _, a := range n.Alerts {
		keys := make([]string, 0, len(a.Labels))
		for k, v := range a.Labels {
			if k != "alertname" && k != "grafana_folder" {
				keys = append(keys, k+"="+v)
			}
		}
		sort.Strings(keys)
		fmt.Fprintf(w.out, "[webhook] %s %s %-8s %s {%s} %s\n", time.Now().Format("15:04:05"), a.StartsAt.Local().Format("15:04:05"),
			strings.ToUpper(a.Status), a.Labels["alertname"], strings.Join(keys, ", "), a.Annotations["message"])
	}
}

// Wait returns the first notification for which match is true, waiting
// until ctx ends.
func (w *WebhookListener) Wait(ctx context.Context, match func(Notification) bool) (Notification, error) {
	for {
		w.mu.Lock()
		for _, n := range w.received {
			if match(n) {
				w.mu.Unlock()
				return n, nil
			}
		}
		count := len(w.received)
		w.mu.Unlock()
		select {
		case <-w.arrived:
		case <-time.After(time.Second):
		case <-ctx.Done():
			return Notification{}, fmt.Errorf("no matching notification (%d received): %w", count, ctx.Err())
		}
	}
}

// Stop closes the listener.
func (w *WebhookListener) Stop() { _ = w.server.Close() }
