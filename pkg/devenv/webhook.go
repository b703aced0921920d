package devenv

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"sort"
	"strings"
	"time"
)

// NotificationPrinter is a webhook listener on 127.0.0.1 that prints a line
// per alert of each Grafana notification: the demo's stand-in for the HTTP
// endpoint Kapacitor's alert node posted to.
type NotificationPrinter struct {
	URL    string
	server *http.Server
}

// StartNotificationPrinter listens on a free loopback port and prints to out.
func StartNotificationPrinter(out io.Writer) (*NotificationPrinter, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &NotificationPrinter{URL: "http://" + l.Addr().String() + "/"}
	p.server = &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var n struct {
			Alerts []struct {
				Status      string            `json:"status"`
				Labels      map[string]string `json:"labels"`
				Annotations map[string]string `json:"annotations"`
				StartsAt    time.Time         `json:"startsAt"`
			} `json:"alerts"`
		}
		if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&n); err != nil {
			http.Error(w, "not a notification", http.StatusBadRequest)
			return
		}
		for _, a := range n.Alerts {
			keys := make([]string, 0, len(a.Labels))
			for k := range a.Labels {
				if k != "alertname" && k != "grafana_folder" {
					keys = append(keys, k+"="+a.Labels[k])
				}
			}
			sort.Strings(keys)
			fmt.Fprintf(out, "[webhook] %s %s %-8s %s {%s} %s\n", time.Now().Format("15:04:05"), a.StartsAt.Format("15:04:05"),
				strings.ToUpper(a.Status), a.Labels["alertname"], strings.Join(keys, ", "), a.Annotations["message"])
		}
	})}
	go func() { _ = p.server.Serve(l) }()
	return p, nil
}

// Stop closes the listener.
func (p *NotificationPrinter) Stop() { _ = p.server.Close() }
