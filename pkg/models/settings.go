// Package models holds Vigil's data source settings and query models, and
// validates them. Every validation error names the setting or field at fault.
package models

import (
	"cmp"
	"encoding/json"
	"fmt"
	"math"
	"net"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"

	vigil "github.com/vigil/vigil-anomaly-datasource"
)

// Settings are one Vigil data source's parsed and validated settings.
type Settings struct {
	// URL is the InfluxDB base URL, e.g. http://localhost:8086.
	URL string
	// Organization is the InfluxDB organization (ignored by InfluxDB 1.8).
	Organization string
	// DefaultBucket is used by queries that name no bucket (InfluxDB 1.8: db/rp).
	DefaultBucket string
	// Timeout bounds every HTTP request to InfluxDB.
	Timeout time.Duration
	// MaxPoints caps the points (records) that one query may read.
	MaxPoints int64
	// StateMaxBytes caps the t-test state kept between queries.
	StateMaxBytes int64
	// StateHorizon is how many windows back a query from kept state re-reads, for late points.
	StateHorizon int
	// AlertHistoryBucket and AlertHistoryMeasurement are the alert-history
	// target: the one place the receiver writes, whatever a request names.
	AlertHistoryBucket      string
	AlertHistoryMeasurement string
	// Token authenticates to InfluxDB (InfluxDB 1.8: user:password). Never log it.
	Token string
	// User and Password are the v1 credentials, the alternative to Token:
	// InfluxDB 1.x's user, 2.x's v1 authorization, 3.x's any user with the
	// database token as password. Never log Password.
	User     string
	Password string
	// Kafka is the optional Kafka connection that kafka queries read.
	Kafka KafkaConnection
}

// KafkaConnection is a data source's Kafka connection; no Brokers means none.
type KafkaConnection struct {
	Brokers  []string
	ClientID string
	// SASLMechanism is "", PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512.
	SASLMechanism string
	User          string
	// Password is the SASL password. Never log it.
	Password string
	TLS      bool
	// LiveIdle is how long (event time) a Kafka Live series may go without
	// a point before it is forgotten (kafkaLiveIdleSeconds).
	LiveIdle time.Duration
	// FutureTolerance is how far ahead of the wall clock a Kafka point's
	// time may be; points further ahead are counted and left out
	// (kafkaFutureToleranceSeconds).
	FutureTolerance time.Duration
}

// jsonData is the non-secret part of the settings as Grafana stores it. Numbers
// may arrive as JSON numbers (UI) or strings (hand-written provisioning files).
type jsonData struct {
	Organization  string          `json:"organization"`
	DefaultBucket string          `json:"defaultBucket"`
	Timeout       json.RawMessage `json:"timeout"`
	MaxPoints     json.RawMessage `json:"maxPoints"`
	StateMaxMB    json.RawMessage `json:"stateMaxMB"`
	StateHorizon  json.RawMessage `json:"stateHorizonWindows"`
	AlertBucket   string          `json:"alertHistoryBucket"`
	AlertMeasure  string          `json:"alertHistoryMeasurement"`
	User          string          `json:"user"`
	KafkaBrokers  string          `json:"kafkaBrokers"`
	KafkaClientID string          `json:"kafkaClientId"`
	KafkaSASL     string          `json:"kafkaSaslMechanism"`
	KafkaUser     string          `json:"kafkaUser"`
	KafkaTLS      json.RawMessage `json:"kafkaTls"`
	KafkaLiveIdle json.RawMessage `json:"kafkaLiveIdleSeconds"`
	KafkaFuture   json.RawMessage `json:"kafkaFutureToleranceSeconds"`
}

// JSONDataKeys are the jsonData keys the plugin reads, in order.
func JSONDataKeys() []string {
	t := reflect.TypeFor[jsonData]()
	keys := make([]string, t.NumField())
	for i := range keys {
		keys[i] = t.Field(i).Tag.Get("json")
	}
	return keys
}

// SecureJSONDataKeys are the secureJsonData keys the plugin reads.
var SecureJSONDataKeys = []string{"token", "password", "kafkaPassword"}

// SettingsError is a data source setting that cannot be used. Its message
// names the setting and says what to change.
type SettingsError struct {
	Setting string
	Reason  string
}

func (e *SettingsError) Error() string {
	return fmt.Sprintf("setting %q: %s", e.Setting, e.Reason)
}

// LoadSettings parses and validates Grafana's instance settings.
func LoadSettings(s backend.DataSourceInstanceSettings) (Settings, error) {
	var jd jsonData
	if len(s.JSONData) > 0 {
		if err := json.Unmarshal(s.JSONData, &jd); err != nil {
			return Settings{}, &SettingsError{"jsonData", "is not a JSON object: " + err.Error()}
		}
	}
	out := Settings{
		URL:           strings.TrimSpace(s.URL),
		Organization:  strings.TrimSpace(jd.Organization),
		DefaultBucket: strings.TrimSpace(jd.DefaultBucket),
		Token:         s.DecryptedSecureJSONData["token"],
		User:          strings.TrimSpace(jd.User),
		Password:      s.DecryptedSecureJSONData["password"],
	}
	if err := validateURL(out.URL); err != nil {
		return Settings{}, err
	}
	if err := validateCredentials(out); err != nil {
		return Settings{}, err
	}
	if out.DefaultBucket == "" {
		return Settings{}, &SettingsError{"defaultBucket", "is empty: name the bucket that queries read by default (InfluxDB 1.8: database/retention-policy, e.g. printer/autogen)"}
	}
	if err := checkPrintable("defaultBucket", out.DefaultBucket); err != nil {
		return Settings{}, err
	}
	seconds, err := positiveNumber("timeout", jd.Timeout, vigil.Default.Settings.TimeoutSeconds, "seconds")
	if err != nil {
		return Settings{}, err
	}
	out.Timeout = time.Duration(seconds * float64(time.Second))
	maxPoints, err := wholeNumber("maxPoints", jd.MaxPoints, float64(vigil.Default.Settings.MaxPoints), "points")
	if err != nil {
		return Settings{}, err
	}
	out.MaxPoints = int64(maxPoints)
	mb, err := positiveNumber("stateMaxMB", jd.StateMaxMB, vigil.Default.Settings.StateMaxMB, "MiB")
	if err != nil {
		return Settings{}, err
	}
	out.StateMaxBytes = int64(mb * (1 << 20))
	horizon, err := wholeNumber("stateHorizonWindows", jd.StateHorizon, float64(vigil.Default.Settings.StateHorizonWindows), "windows")
	if err != nil {
		return Settings{}, err
	}
	out.StateHorizon = int(horizon)
	if out.AlertHistoryBucket, out.AlertHistoryMeasurement, err = alertHistoryTarget(jd, out.DefaultBucket); err != nil {
		return Settings{}, err
	}
	out.Kafka, err = loadKafka(jd, s.DecryptedSecureJSONData["kafkaPassword"])
	return out, err
}

// alertHistoryTarget is where the receiver writes: alertHistoryBucket
// (default: the default bucket) and alertHistoryMeasurement (default
// src/defaults.json's).
func alertHistoryTarget(jd jsonData, defaultBucket string) (bucket, measurement string, err error) {
	bucket = cmp.Or(strings.TrimSpace(jd.AlertBucket), defaultBucket)
	measurement = cmp.Or(strings.TrimSpace(jd.AlertMeasure), vigil.Default.Settings.AlertHistoryMeasurement)
	if err := checkPrintable("alertHistoryBucket", bucket); err != nil {
		return "", "", err
	}
	return bucket, measurement, checkPrintable("alertHistoryMeasurement", measurement)
}

// loadKafka validates the Kafka settings: host:port brokers, a known SASL
// mechanism with its user and password, and nothing of SASL without one.
func loadKafka(jd jsonData, password string) (KafkaConnection, error) {
	k := KafkaConnection{
		ClientID:      strings.TrimSpace(jd.KafkaClientID),
		SASLMechanism: strings.TrimSpace(jd.KafkaSASL),
		User:          strings.TrimSpace(jd.KafkaUser),
		Password:      password,
	}
	for _, b := range strings.Split(jd.KafkaBrokers, ",") {
		if b = strings.TrimSpace(b); b == "" {
			continue
		}
		host, port, err := net.SplitHostPort(b)
		if n, perr := strconv.Atoi(port); err != nil || host == "" || perr != nil || n < 1 || n > 65535 {
			return KafkaConnection{}, &SettingsError{"kafkaBrokers", fmt.Sprintf("%q is not host:port, e.g. localhost:9092 (separate brokers with commas)", b)}
		}
		k.Brokers = append(k.Brokers, b)
	}
	if err := checkPrintable("kafkaClientId", k.ClientID); err != nil {
		return KafkaConnection{}, err
	}
	if err := checkPrintable("kafkaUser", k.User); err != nil {
		return KafkaConnection{}, err
	}
	options := vigil.Rule.Options.KafkaSaslMechanism
	switch {
	case !slices.Contains(options, k.SASLMechanism):
		return KafkaConnection{}, &SettingsError{"kafkaSaslMechanism", fmt.Sprintf("%q is not a SASL mechanism: use PLAIN, SCRAM-SHA-256, SCRAM-SHA-512, or leave it empty for none", k.SASLMechanism)}
	case k.SASLMechanism != "" && k.User == "":
		return KafkaConnection{}, &SettingsError{"kafkaUser", "is empty but a SASL mechanism is set: enter the Kafka user"}
	case k.SASLMechanism != "" && k.Password == "":
		return KafkaConnection{}, &SettingsError{"kafkaPassword", "is empty but a SASL mechanism is set: enter the Kafka user's password"}
	case k.SASLMechanism == "" && (k.User != "" || k.Password != ""):
		return KafkaConnection{}, &SettingsError{"kafkaSaslMechanism", `is empty but "kafkaUser" or "kafkaPassword" is set: pick the SASL mechanism, or clear them`}
	}
	tls := strings.Trim(strings.TrimSpace(string(jd.KafkaTLS)), `"`)
	switch tls {
	case "", "null", "false":
	case "true":
		k.TLS = true
	default:
		return KafkaConnection{}, &SettingsError{"kafkaTls", fmt.Sprintf("must be true or false, got %s", tls)}
	}
	var err error
	if k.LiveIdle, err = kafkaSeconds("kafkaLiveIdleSeconds", jd.KafkaLiveIdle, vigil.Default.Settings.KafkaLiveIdleSeconds); err != nil {
		return KafkaConnection{}, err
	}
	if k.FutureTolerance, err = kafkaSeconds("kafkaFutureToleranceSeconds", jd.KafkaFuture, vigil.Default.Settings.KafkaFutureToleranceSeconds); err != nil {
		return KafkaConnection{}, err
	}
	return k, nil
}

// maxKafkaSeconds bounds the Kafka durations (a year), far inside
// time.Duration, so that adding them to a point's time cannot overflow.
const maxKafkaSeconds = 366 * 24 * 3600

// kafkaSeconds reads a Kafka duration setting given in seconds.
func kafkaSeconds(setting string, raw json.RawMessage, def float64) (time.Duration, error) {
	v, err := positiveNumber(setting, raw, def, "seconds")
	if err == nil && v > maxKafkaSeconds {
		err = &SettingsError{setting, fmt.Sprintf("must be at most %d seconds (366 days), got %v", maxKafkaSeconds, v)}
	}
	return time.Duration(v * float64(time.Second)), err
}

func validateURL(raw string) error {
	if raw == "" {
		return &SettingsError{"url", "is empty: enter the InfluxDB base URL, e.g. http://localhost:8086"}
	}
	u, err := url.Parse(raw)
	if err != nil {
		// url.Parse quotes the input, which may hold credentials: say only what is wrong.
		return &SettingsError{"url", "is not a valid URL: enter the InfluxDB base URL, e.g. http://localhost:8086"}
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return &SettingsError{"url", fmt.Sprintf("must start with http:// or https:// (got scheme %q), e.g. http://localhost:8086", u.Scheme)}
	}
	if u.Host == "" {
		return &SettingsError{"url", "has no host: enter the InfluxDB base URL, e.g. http://localhost:8086"}
	}
	if u.User != nil {
		return &SettingsError{"url", `must not contain credentials: put them in "user" and "password", or in the token (InfluxDB 1.8: user:password)`}
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return &SettingsError{"url", "must not contain a query string or fragment: enter only the InfluxDB base URL"}
	}
	return nil
}

// validateCredentials accepts a token, or user and password, or neither
// (authentication off), so that it is never unclear which InfluxDB is sent.
// The messages name settings, never their values.
func validateCredentials(s Settings) error {
	switch {
	case s.Token != "" && (s.User != "" || s.Password != ""):
		return &SettingsError{"token", `is set, and so are "user"/"password": use either the token or the v1 user and password, and clear the other`}
	case s.User != "" && s.Password == "":
		return &SettingsError{"password", `is empty but "user" is set: enter the user's password (InfluxDB 3.x: the database token), or clear "user"`}
	case s.Password != "" && s.User == "":
		return &SettingsError{"user", `is empty but "password" is set: enter the v1 user name, or clear "password"`}
	}
	return checkPrintable("user", s.User)
}

// positiveNumber reads an optional number that may be written as a JSON number
// or a string; absent, null, "" and 0 mean the default.
func positiveNumber(setting string, raw json.RawMessage, def float64, unit string) (float64, error) {
	v, text, err := parseNumber(raw)
	switch {
	case err != nil:
		return 0, &SettingsError{setting, fmt.Sprintf("must be a number of %s, got %s", unit, text)}
	case text == "":
		return def, nil
	}
	if v < 0 {
		return 0, &SettingsError{setting, fmt.Sprintf("must be positive (number of %s), got %v; leave it empty for the default %v", unit, v, def)}
	}
	if v == 0 {
		return def, nil
	}
	return v, nil
}

// wholeNumber is positiveNumber for counts.
func wholeNumber(setting string, raw json.RawMessage, def float64, unit string) (float64, error) {
	v, err := positiveNumber(setting, raw, def, unit)
	if err == nil && v != math.Trunc(v) {
		err = &SettingsError{setting, fmt.Sprintf("must be a whole number of %s, got %v", unit, v)}
	}
	return v, err
}

// parseNumber reads an optional number written as a JSON number or a string.
// text is the number's text, "" when absent, null or empty.
func parseNumber(raw json.RawMessage) (v float64, text string, err error) {
	text = strings.TrimSpace(string(raw))
	if unq, uerr := strconv.Unquote(text); uerr == nil {
		text = strings.TrimSpace(unq)
	}
	if text == "" || text == "null" {
		return 0, "", nil
	}
	v, err = strconv.ParseFloat(text, 64)
	if err == nil && (math.IsNaN(v) || math.IsInf(v, 0)) {
		err = fmt.Errorf("not finite")
	}
	return v, text, err
}

// checkPrintable rejects control characters, which can only be typing accidents
// in names and would make messages and Flux literals hard to read.
func checkPrintable(name, value string) error {
	for _, r := range value {
		if r < 0x20 || r == 0x7f {
			return &SettingsError{name, fmt.Sprintf("contains a control character (%q)", r)}
		}
	}
	return nil
}
