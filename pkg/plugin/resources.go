package plugin

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/influxdata/influxdb-client-go/v2/api/write"

	"github.com/vigil/vigil-anomaly-datasource/pkg/alerthistory"
	"github.com/vigil/vigil-anomaly-datasource/pkg/influx"
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
// writes one alert-history point per alert to the data source's
// alert-history target (alertHistoryBucket, alertHistoryMeasurement), never
// to one the request names: a bucket or measurement parameter other than
// the target is refused with 400, so that a misdirected contact point shows
// the failure instead of writing where it should not. Only a caller allowed
// to write gets that far (see writeAllowed); others get 403, nothing
// written. The whole payload is checked before anything is written: a
// payload it cannot use gets 4xx. A write it could not make gets 5xx,
// because senders retry only those (Alertmanager's and Grafana's webhook
// notifiers drop a notification answered 4xx); the points are keyed by the
// alert's labels and start or end time, so a retried notification
// overwrites, never duplicates.
func (d *Datasource) handleAlertHistory(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeJSONError(w, http.StatusMethodNotAllowed, "POST a Grafana or Alertmanager webhook notification")
		return
	}
	if msg, ok := writeAllowed(backend.PluginConfigFromContext(r.Context()).User); !ok {
		writeJSONError(w, http.StatusForbidden, msg)
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
	bucket, measurement := d.settings.AlertHistoryBucket, d.settings.AlertHistoryMeasurement
	if msg := otherTarget(r.URL.Query(), bucket, measurement); msg != "" {
		writeJSONError(w, http.StatusBadRequest, msg)
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

// writeAllowed says whether the caller may write the alert history, and if
// not, why. Grafana serves the resource route to anyone who may query the
// data source, Viewers included, and passes the caller's org role in the
// plugin context (for a service-account token, the service account's role):
// Editor and Admin may write, everyone else is refused, a call without a
// user included. Vigil relies on that role, not on a receiver secret in
// secureJsonData checked against a header: the webhook contact point's one
// credential, its bearer token, is consumed by Grafana to authenticate the
// caller and is not passed on to the plugin, so it already arrives here as
// a role; a second secret would need a header of its own in every contact
// point and would let whoever holds it write without any Grafana identity.
// So the contact point authenticates with the token of a service account
// whose role is Editor.
func writeAllowed(u *backend.User) (string, bool) {
	if u == nil {
		return "writing the alert history needs a signed-in Editor or Admin (or a service-account token with one of those roles); this call has no user", false
	}
	switch u.Role {
	case "Editor", "Admin":
		return "", true
	}
	role := u.Role
	if role == "" {
		role = "none"
	}
	return fmt.Sprintf("writing the alert history needs the Editor or Admin role; this caller's role is %s (a contact point authenticates with the token of a service account whose role is Editor)", role), false
}

// otherTarget says why a request that names a bucket or measurement other
// than the alert-history target is refused: "" when it names none (or an
// empty one), or the target itself.
func otherTarget(q url.Values, bucket, measurement string) string {
	for _, p := range []struct{ name, target, setting string }{
		{"bucket", bucket, "alertHistoryBucket"},
		{"measurement", measurement, "alertHistoryMeasurement"},
	} {
		for _, v := range q[p.name] {
			if v = strings.TrimSpace(v); v != "" && v != p.target {
				return fmt.Sprintf("the alert history is written only to bucket %q, measurement %q (the data source's alert-history settings), not to the %s %q that the request names: remove the %s parameter, or change the data source's %q",
					bucket, measurement, p.name, v, p.name, p.setting)
			}
		}
	}
	return ""
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
