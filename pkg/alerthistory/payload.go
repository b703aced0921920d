// Package alerthistory is Vigil's equivalent of Kapacitor's influxDBOut for
// alerts: it turns webhook notifications into alert-history points (one per
// alert) and reads the history back as events. It reads Prometheus
// Alertmanager's webhook payload (version 4) and Grafana's, which is
// Alertmanager's plus fields of its own (orgId, title, state, message, and per
// alert values, valueString, dashboard and panel URLs).
package alerthistory

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Payload is the part of a webhook notification Vigil reads. Fields either
// sender adds (version, groupKey, groupLabels, commonLabels, externalURL,
// truncatedAlerts, Grafana's title and message) are ignored.
type Payload struct {
	Receiver string  `json:"receiver"`
	Status   string  `json:"status"`
	Alerts   []Alert `json:"alerts"`
}

// Alert is one alert of a notification. Alertmanager sends a firing alert's
// endsAt as the zero time ("0001-01-01T00:00:00Z") and no values; Grafana
// adds the rule's expression values.
type Alert struct {
	Status      string             `json:"status"`
	Labels      map[string]string  `json:"labels"`
	Annotations map[string]string  `json:"annotations"`
	StartsAt    time.Time          `json:"startsAt"`
	EndsAt      time.Time          `json:"endsAt"`
	Values      map[string]float64 `json:"values"`
	Fingerprint string             `json:"fingerprint"`
}

// PayloadError is a body that is not a usable webhook notification.
type PayloadError struct{ Reason string }

func (e *PayloadError) Error() string {
	return "not a Grafana or Alertmanager webhook notification: " + e.Reason
}

// Parse decodes and validates a notification; nothing of an invalid one may be written.
func Parse(body []byte) (Payload, error) {
	var p Payload
	dec := json.NewDecoder(strings.NewReader(string(body)))
	if err := dec.Decode(&p); err != nil {
		return Payload{}, &PayloadError{"the body is not the expected JSON object: " + err.Error()}
	}
	if dec.More() {
		return Payload{}, &PayloadError{"the body holds more than one JSON value"}
	}
	if p.Status != "firing" && p.Status != "resolved" {
		return Payload{}, &PayloadError{fmt.Sprintf(`"status" must be "firing" or "resolved", got %q`, p.Status)}
	}
	if len(p.Alerts) == 0 {
		return Payload{}, &PayloadError{`"alerts" is missing or empty`}
	}
	for i, a := range p.Alerts {
		where := fmt.Sprintf("alerts[%d]", i)
		switch {
		case a.Status != "firing" && a.Status != "resolved":
			return Payload{}, &PayloadError{fmt.Sprintf(`%s.status must be "firing" or "resolved", got %q`, where, a.Status)}
		case strings.TrimSpace(a.Labels["alertname"]) == "":
			return Payload{}, &PayloadError{where + ".labels.alertname is missing"}
		case a.StartsAt.IsZero() || a.StartsAt.Year() < 1971:
			return Payload{}, &PayloadError{where + ".startsAt is missing"}
		case a.Status == "resolved" && (a.EndsAt.IsZero() || a.EndsAt.Year() < 1971 || a.EndsAt.Before(a.StartsAt)):
			return Payload{}, &PayloadError{where + ".endsAt is missing or before startsAt on a resolved alert"}
		}
	}
	return p, nil
}

// Tag and field names of an alert-history point (Kapacitor's names).
const (
	TagAlertID     = "alertID"
	TagAlertName   = "alertName"
	TagLevel       = "level"
	TagTriggerType = "triggerType"
	FieldMessage   = "message"
	FieldDuration  = "duration"
	FieldValue     = "value"
)

// Point is one alert-history point.
type Point struct {
	Time   time.Time
	Tags   map[string]string
	Fields map[string]any
}

// Points builds one point per alert:
//
//   - time: startsAt for a firing alert, endsAt for a resolved one, so a
//     retried notification writes the same series and timestamp again (an
//     overwrite, never a duplicate);
//   - tags: the alert's labels, then alertID (the rule and its label set),
//     alertName, level (firing: the severity label in upper case, CRITICAL
//     when absent; resolved: OK) and triggerType (the triggerType label, else
//     "threshold");
//   - fields: message (the message, summary or description annotation),
//     duration (int64 ns in the level it reports: 0 when it starts firing,
//     the firing time when it resolves) and value (the value annotation, else
//     the first of the rule's expression values).
func Points(p Payload) []Point {
	out := make([]Point, 0, len(p.Alerts))
	for _, a := range p.Alerts {
		tags := map[string]string{}
		for k, v := range a.Labels {
			if strings.TrimSpace(k) != "" && v != "" {
				tags[k] = v
			}
		}
		tags[TagAlertID] = alertID(a.Labels)
		tags[TagAlertName] = a.Labels["alertname"]
		tags[TagTriggerType] = "threshold"
		if tt := a.Labels["triggerType"]; tt != "" {
			tags[TagTriggerType] = tt
		}
		pt := Point{Tags: tags, Fields: map[string]any{FieldMessage: message(a)}}
		if a.Status == "resolved" {
			tags[TagLevel] = "OK"
			pt.Time = a.EndsAt
			pt.Fields[FieldDuration] = a.EndsAt.Sub(a.StartsAt).Nanoseconds()
		} else {
			tags[TagLevel] = level(a.Labels["severity"])
			pt.Time = a.StartsAt
			pt.Fields[FieldDuration] = int64(0)
		}
		if v, ok := value(a); ok {
			pt.Fields[FieldValue] = v
		}
		out = append(out, pt)
	}
	return out
}

// alertID names the rule and its label set: "alertname:k=v,k=v" (sorted,
// without the alertname and folder labels), or the alertname alone.
func alertID(labels map[string]string) string {
	keys := make([]string, 0, len(labels))
	for k := range labels {
		if k != "alertname" && k != "grafana_folder" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + labels[k]
	}
	if len(parts) == 0 {
		return labels["alertname"]
	}
	return labels["alertname"] + ":" + strings.Join(parts, ",")
}

func level(severity string) string {
	switch s := strings.ToUpper(strings.TrimSpace(severity)); s {
	case "OK", "INFO", "WARNING", "CRITICAL":
		return s
	}
	return "CRITICAL"
}

func message(a Alert) string {
	for _, k := range []string{"message", "summary", "description"} {
		if m := a.Annotations[k]; m != "" {
			return m
		}
	}
	return ""
}

func value(a Alert) (float64, bool) {
	if v, err := strconv.ParseFloat(strings.TrimSpace(a.Annotations["value"]), 64); err == nil {
		return v, true
	}
	keys := make([]string, 0, len(a.Values))
	for k := range a.Values {
		keys = append(keys, k)
	}
	if len(keys) == 0 {
		return 0, false
	}
	sort.Strings(keys)
	return a.Values[keys[0]], true
}
