package plugin

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/influxdata/influxdb-client-go/v2/api/write"

	"github.com/vigil/vigil-anomaly-datasource/pkg/alerthistory"
	"github.com/vigil/vigil-anomaly-datasource/pkg/influx"
	"github.com/vigil/vigil-anomaly-datasource/pkg/models"
)

// maxNotificationBytes bounds a notification body; Grafana's are a few KiB
// per alert.
const maxNotificationBytes = 1 << 20

// newResourceHandler routes the plugin's resource calls, which Grafana serves
// under /api/datasources/uid/<uid>/resources/ behind its own authentication.
func (d *Datasource) newResourceHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/alert-history", d.handleAlertHistory)
	// Schema for the editors' pickers and for template variables.
	mux.HandleFunc("/measurements", d.schemaHandler(nil, func(r *http.Request, p schemaParams) (any, error) {
		return d.client.Measurements(r.Context(), p.bucket)
	}))
	mux.HandleFunc("/fields", d.schemaHandler([]string{"measurement"}, func(r *http.Request, p schemaParams) (any, error) {
		return d.client.FieldKeys(r.Context(), p.bucket, p.measurement)
	}))
	mux.HandleFunc("/tag-keys", d.schemaHandler([]string{"measurement"}, func(r *http.Request, p schemaParams) (any, error) {
		return d.client.TagKeys(r.Context(), p.bucket, p.measurement)
	}))
	mux.HandleFunc("/tag-values", d.schemaHandler([]string{"measurement", "key"}, func(r *http.Request, p schemaParams) (any, error) {
		return d.client.TagValues(r.Context(), p.bucket, p.measurement, p.key)
	}))
	return mux
}

// schemaParams are a schema request's query parameters.
type schemaParams struct{ bucket, measurement, key string }

// schemaHandler answers GET with the lookup's result as JSON; required names
// the parameters that must be present; bucket defaults to the default bucket.
func (d *Datasource) schemaHandler(required []string, lookup func(*http.Request, schemaParams) (any, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !d.accept(w, r, http.MethodGet, "use GET") {
			return
		}
		q := r.URL.Query()
		p := schemaParams{bucket: strings.TrimSpace(q.Get("bucket")), measurement: q.Get("measurement"), key: q.Get("key")}
		if p.bucket == "" {
			p.bucket = d.settings.DefaultBucket
		}
		for _, name := range required {
			if q.Get(name) == "" {
				writeJSONError(w, http.StatusBadRequest, fmt.Sprintf("the %q parameter is required", name))
				return
			}
		}
		result, err := lookup(r, p)
		if err != nil {
			writeJSONError(w, influxStatus(err), err.Error())
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(result)
	}
}

// handleAlertHistory receives a webhook notification (Grafana's, or
// Prometheus Alertmanager's version 4, of which Grafana's is a superset) and
// writes one alert-history point per alert. Query parameters: bucket
// (default: the default bucket) and measurement (default "alerts"). The
// whole payload is checked before anything is written: a payload it cannot
// use gets 4xx. A write it could not make gets 5xx, because senders retry
// only those (Alertmanager's and Grafana's webhook notifiers drop a
// notification answered 4xx); the points are keyed by the alert's labels and
// start or end time, so a retried notification overwrites, never duplicates.
func (d *Datasource) handleAlertHistory(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeJSONError(w, http.StatusMethodNotAllowed, "POST a Grafana or Alertmanager webhook notification")
		return
	}
	bucket := strings.TrimSpace(r.URL.Query().Get("bucket"))
	if bucket == "" {
		bucket = d.settings.DefaultBucket
	}
	measurement := strings.TrimSpace(r.URL.Query().Get("measurement"))
	if measurement == "" {
		measurement = models.DefaultAlertMeasurement
	}
	if strings.ContainsAny(bucket+measurement, "\n\r\t\x00") {
		writeJSONError(w, http.StatusBadRequest, "the bucket and measurement parameters must not contain control characters")
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxNotificationBytes+1))
	if err != nil {
		writeJSONError(w, http.StatusBadRequest, "reading the body: "+err.Error())
		return
	}
	if len(body) > maxNotificationBytes {
		writeJSONError(w, http.StatusBadRequest, fmt.Sprintf("the body is larger than %d bytes", maxNotificationBytes))
		return
	}
	payload, err := alerthistory.Parse(body)
	if err != nil {
		writeJSONError(w, http.StatusBadRequest, err.Error())
		return
	}
	// Unusable settings are fixed by the user: a retry after the fix writes.
	if d.settingsErr != nil {
		writeJSONError(w, http.StatusServiceUnavailable, "cannot write the alert history: "+d.settingsErr.Error())
		return
	}
	var points []*write.Point
	for _, p := range alerthistory.Points(payload) {
		points = append(points, write.NewPoint(measurement, p.Tags, p.Fields, p.Time))
	}
	if err := d.client.Write(r.Context(), bucket, points...); err != nil {
		d.logger.Warn("writing alert history failed; answering 5xx so that the sender retries", "error", err)
		writeJSONError(w, writeFailureStatus(err), "cannot write the alert history: "+err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"written": len(points), "bucket": bucket, "measurement": measurement})
}

// writeFailureStatus is always a 5xx, even for a missing bucket or a refused
// token: once the user creates the bucket or fixes the token, the sender's
// retry writes the notification instead of losing it. 503 says InfluxDB
// could not be reached in time, 502 that it answered with an error.
func writeFailureStatus(err error) int {
	if influx.IsKind(err, influx.KindUnreachable) || influx.IsKind(err, influx.KindTimeout) || influx.IsKind(err, influx.KindUnavailable) {
		return http.StatusServiceUnavailable
	}
	return http.StatusBadGateway
}

// accept answers a request that uses the wrong method (405, with hint) or
// reaches a data source with unusable settings (400), and reports whether
// the handler may go on.
func (d *Datasource) accept(w http.ResponseWriter, r *http.Request, method, hint string) bool {
	if r.Method != method {
		w.Header().Set("Allow", method)
		writeJSONError(w, http.StatusMethodNotAllowed, hint)
		return false
	}
	if d.settingsErr != nil {
		writeJSONError(w, http.StatusBadRequest, d.settingsErr.Error())
		return false
	}
	return true
}

// influxStatus is the HTTP status for an InfluxDB failure: 400 when the
// request named something that does not exist or is not valid, else 502.
func influxStatus(err error) int {
	var ie *influx.Error
	if errors.As(err, &ie) && (ie.Kind == influx.KindNotFound || ie.Kind == influx.KindBadQuery) {
		return http.StatusBadRequest
	}
	return http.StatusBadGateway
}

func writeJSONError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": msg})
}
