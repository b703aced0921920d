package grafana

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/vigil/vigil-anomaly-datasource/pkg/alerthistory"
)

// webhookPayload is Grafana's webhook notification as the receiver reads it,
// plus the labels common to its alerts.
type webhookPayload struct {
	alerthistory.Payload
	CommonLabels map[string]string `json:"commonLabels"`
}

// webhookHub is an HTTP listener on 127.0.0.1 that keeps every notification,
// so a test can wait for the one it expects without missing earlier ones.
type webhookHub struct {
	*httptest.Server
	mu       sync.Mutex
	payloads []webhookPayload
	arrived  chan struct{}
}

func newWebhookHub() *webhookHub {
	h := &webhookHub{arrived: make(chan struct{}, 1)}
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var p webhookPayload
		if json.Unmarshal(body, &p) == nil {
			h.mu.Lock()
			h.payloads = append(h.payloads, p)
			h.mu.Unlock()
			select {
			case h.arrived <- struct{}{}:
			default:
			}
		}
	}))
	return h
}

// wait returns the first notification for which match is true.
func (h *webhookHub) wait(t *testing.T, timeout time.Duration, match func(webhookPayload) bool) webhookPayload {
	t.Helper()
	deadline := time.After(timeout)
	for {
		h.mu.Lock()
		for _, p := range h.payloads {
			if match(p) {
				h.mu.Unlock()
				return p
			}
		}
		h.mu.Unlock()
		select {
		case <-h.arrived:
		case <-time.After(time.Second):
		case <-deadline:
			t.Fatalf("no matching notification within %s (%d received)", timeout, len(h.payloads))
		}
	}
}
