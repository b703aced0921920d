package models

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
)

func instance(url, jsonData, token string) backend.DataSourceInstanceSettings {
	s := backend.DataSourceInstanceSettings{URL: url, JSONData: []byte(jsonData)}
	if token != "" {
		s.DecryptedSecureJSONData = map[string]string{"token": token}
	}
	return s
}

func TestLoadSettings(t *testing.T) {
	got, err := LoadSettings(instance(" http://127.0.0.1:8086 ",
		`{"organization":"acme","defaultBucket":"printer/autogen","timeout":12.5,"maxPoints":"5000","stateMaxMB":0.5,"stateHorizonWindows":"3"}`, "u:p"))
	if err != nil {
		t.Fatal(err)
	}
	want := Settings{URL: "http://127.0.0.1:8086", Organization: "acme", DefaultBucket: "printer/autogen",
		Timeout: 12500 * time.Millisecond, MaxPoints: 5000, StateMaxBytes: 512 << 10, StateHorizon: 3, Token: "u:p",
		AlertHistoryBucket: "printer/autogen", AlertHistoryMeasurement: "alerts",
		Kafka: KafkaConnection{LiveIdle: 24 * time.Hour, FutureTolerance: time.Minute}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v, want %+v", got, want)
	}
}

func TestLoadKafkaSettings(t *testing.T) {
	s := instance("http://influx:8086", `{"defaultBucket":"b","kafkaBrokers":" 127.0.0.1:9092, kafka-2:9093 ,",
		"kafkaClientId":"vigil","kafkaSaslMechanism":"SCRAM-SHA-512","kafkaUser":" ops ","kafkaTls":"true",
		"kafkaLiveIdleSeconds":"7200","kafkaFutureToleranceSeconds":0.5}`, "")
	s.DecryptedSecureJSONData = map[string]string{"kafkaPassword": "hunter2"}
	got, err := LoadSettings(s)
	if err != nil {
		t.Fatal(err)
	}
	want := KafkaConnection{Brokers: []string{"127.0.0.1:9092", "kafka-2:9093"}, ClientID: "vigil",
		SASLMechanism: "SCRAM-SHA-512", User: "ops", Password: "hunter2", TLS: true,
		LiveIdle: 2 * time.Hour, FutureTolerance: 500 * time.Millisecond}
	if !reflect.DeepEqual(got.Kafka, want) {
		t.Fatalf("got %+v, want %+v", got.Kafka, want)
	}
	// Unset: src/defaults.json's.
	got, err = LoadSettings(instance("http://influx:8086", `{"defaultBucket":"b"}`, ""))
	if err != nil || got.Kafka.LiveIdle != 24*time.Hour || got.Kafka.FutureTolerance != time.Minute {
		t.Fatalf("defaults: %+v, %v", got.Kafka, err)
	}
}

func TestLoadKafkaSettingsErrors(t *testing.T) {
	tests := []struct{ jsonData, password, setting, message string }{
		{`"kafkaBrokers":"localhost"`, "", "kafkaBrokers", `"localhost" is not host:port`},
		{`"kafkaBrokers":"localhost:0"`, "", "kafkaBrokers", `"localhost:0" is not host:port`},
		{`"kafkaBrokers":":9092"`, "", "kafkaBrokers", `":9092" is not host:port`},
		{`"kafkaBrokers":"a:1","kafkaSaslMechanism":"GSSAPI"`, "", "kafkaSaslMechanism", `"GSSAPI" is not a SASL mechanism`},
		{`"kafkaBrokers":"a:1","kafkaSaslMechanism":"PLAIN"`, "pw", "kafkaUser", "is empty but a SASL mechanism is set"},
		{`"kafkaBrokers":"a:1","kafkaSaslMechanism":"PLAIN","kafkaUser":"u"`, "", "kafkaPassword", "is empty but a SASL mechanism is set"},
		{`"kafkaBrokers":"a:1","kafkaUser":"u"`, "pw", "kafkaSaslMechanism", "is empty but"},
		{`"kafkaBrokers":"a:1","kafkaTls":"yes"`, "", "kafkaTls", "must be true or false, got yes"},
		{`"kafkaBrokers":"a:1","kafkaClientId":"a\tb"`, "", "kafkaClientId", "control character"},
		{`"kafkaLiveIdleSeconds":-1`, "", "kafkaLiveIdleSeconds", "must be positive (number of seconds), got -1"},
		{`"kafkaLiveIdleSeconds":"a day"`, "", "kafkaLiveIdleSeconds", "must be a number of seconds, got a day"},
		{`"kafkaFutureToleranceSeconds":1e12`, "", "kafkaFutureToleranceSeconds", "must be at most 31622400 seconds (366 days)"},
		{`"kafkaFutureToleranceSeconds":-60`, "", "kafkaFutureToleranceSeconds", "must be positive (number of seconds), got -60"},
	}
	for _, tt := range tests {
		s := instance("http://influx:8086", `{"defaultBucket":"b",`+tt.jsonData+`}`, "")
		if tt.password != "" {
			s.DecryptedSecureJSONData = map[string]string{"kafkaPassword": tt.password}
		}
		_, err := LoadSettings(s)
		se, ok := err.(*SettingsError)
		if !ok || se.Setting != tt.setting || !strings.Contains(se.Error(), tt.message) {
			t.Errorf("%s: got %v, want setting %q with %q", tt.jsonData, err, tt.setting, tt.message)
		}
		if err != nil && strings.Contains(err.Error(), "pw") {
			t.Errorf("%s: the message shows the password: %v", tt.jsonData, err)
		}
	}
}

func TestLoadSettingsDefaults(t *testing.T) {
	for _, jd := range []string{
		`{"defaultBucket":"b"}`,
		`{"defaultBucket":"b","timeout":null,"maxPoints":null}`,
		`{"defaultBucket":"b","timeout":"","maxPoints":""}`,
		`{"defaultBucket":"b","timeout":0,"maxPoints":0}`,
	} {
		got, err := LoadSettings(instance("https://influx.example:8086/prefix", jd, ""))
		if err != nil {
			t.Fatalf("%s: %v", jd, err)
		}
		if got.Timeout != 30*time.Second || got.MaxPoints != 1_000_000 || got.Token != "" || got.StateMaxBytes != 256<<20 || got.StateHorizon != 2 {
			t.Errorf("%s: defaults not applied: %+v", jd, got)
		}
	}
}

func TestLoadSettingsErrors(t *testing.T) {
	const bucket = `{"defaultBucket":"printer/autogen"}`
	tests := []struct {
		name, url, jsonData string
		setting, message    string
	}{
		{"empty url", "", bucket, "url", "is empty"},
		{"blank url", "   ", bucket, "url", "is empty"},
		{"malformed url", "http://[::1", bucket, "url", "is not a valid URL"},
		{"no scheme", "influx:8086", bucket, "url", `must start with http:// or https:// (got scheme "influx")`},
		{"ftp scheme", "ftp://influx", bucket, "url", "must start with http"},
		{"no host", "http://", bucket, "url", "has no host"},
		{"credentials in url", "http://admin:hunter2@influx:8086", bucket, "url", "must not contain credentials"},
		{"query string", "http://influx:8086/?db=x", bucket, "url", "must not contain a query string"},
		{"missing bucket", "http://influx:8086", `{}`, "defaultBucket", "is empty"},
		{"control char in bucket", "http://influx:8086", `{"defaultBucket":"a\nb"}`, "defaultBucket", "control character"},
		{"negative timeout", "http://influx:8086", `{"defaultBucket":"b","timeout":-1}`, "timeout", "must be positive (number of seconds), got -1"},
		{"text timeout", "http://influx:8086", `{"defaultBucket":"b","timeout":"soon"}`, "timeout", "must be a number of seconds, got soon"},
		{"negative max points", "http://influx:8086", `{"defaultBucket":"b","maxPoints":-10}`, "maxPoints", "must be positive (number of points), got -10"},
		{"fractional max points", "http://influx:8086", `{"defaultBucket":"b","maxPoints":2.5}`, "maxPoints", "whole number"},
		{"negative state cap", "http://influx:8086", `{"defaultBucket":"b","stateMaxMB":-1}`, "stateMaxMB", "must be positive (number of MiB)"},
		{"fractional horizon", "http://influx:8086", `{"defaultBucket":"b","stateHorizonWindows":1.5}`, "stateHorizonWindows", "whole number of windows"},
		{"jsonData not an object", "http://influx:8086", `[1]`, "jsonData", "not a JSON object"},
		{"control char in alert-history bucket", "http://influx:8086", `{"defaultBucket":"b","alertHistoryBucket":"house\nautogen"}`, "alertHistoryBucket", "control character"},
		{"control char in alert-history measurement", "http://influx:8086", `{"defaultBucket":"b","alertHistoryMeasurement":"al\terts"}`, "alertHistoryMeasurement", "control character"},
	}
	seen := map[string]string{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := LoadSettings(instance(tt.url, tt.jsonData, "admin:hunter2"))
			se, ok := err.(*SettingsError)
			if !ok {
				t.Fatalf("got %v (%T), want *SettingsError", err, err)
			}
			if se.Setting != tt.setting || !strings.Contains(se.Error(), tt.message) {
				t.Fatalf("got %q, want setting %q and message containing %q", se.Error(), tt.setting, tt.message)
			}
			if strings.Contains(se.Error(), "hunter2") {
				t.Fatalf("message leaks a secret: %q", se.Error())
			}
			// Different problems must read differently.
			if prev, dup := seen[se.Error()]; dup && prev != tt.message {
				t.Fatalf("%q and %q give the same message", prev, tt.message)
			}
			seen[se.Error()] = tt.message
		})
	}
}

// The alert-history target: the default bucket and src/defaults.json's
// measurement unless set; blank is unset.
func TestLoadSettingsAlertHistoryTarget(t *testing.T) {
	tests := []struct{ jsonData, bucket, measurement string }{
		{`{"defaultBucket":"printer/autogen"}`, "printer/autogen", "alerts"},
		{`{"defaultBucket":"printer/autogen","alertHistoryBucket":"  ","alertHistoryMeasurement":""}`, "printer/autogen", "alerts"},
		{`{"defaultBucket":"printer/autogen","alertHistoryBucket":" house/autogen ","alertHistoryMeasurement":" history "}`, "house/autogen", "history"},
		{`{"defaultBucket":"printer/autogen","alertHistoryMeasurement":"alert history, \"quoted\""}`, "printer/autogen", `alert history, "quoted"`},
	}
	for _, tt := range tests {
		got, err := LoadSettings(instance("http://influx:8086", tt.jsonData, ""))
		if err != nil {
			t.Fatalf("%s: %v", tt.jsonData, err)
		}
		if got.AlertHistoryBucket != tt.bucket || got.AlertHistoryMeasurement != tt.measurement {
			t.Errorf("%s: got %q %q, want %q %q", tt.jsonData, got.AlertHistoryBucket, got.AlertHistoryMeasurement, tt.bucket, tt.measurement)
		}
	}
}

func TestLoadSettingsCredentials(t *testing.T) {
	const secret = "hunter2-secret"
	tests := []struct {
		name, jsonData        string
		secure                map[string]string
		token, user, password string // want, when setting is ""
		setting, message      string // want a SettingsError
	}{
		{name: "none: authentication off", jsonData: `{"defaultBucket":"b"}`},
		{name: "token", jsonData: `{"defaultBucket":"b"}`, secure: map[string]string{"token": secret}, token: secret},
		{name: "user and password", jsonData: `{"defaultBucket":"b","user":" vigil "}`, secure: map[string]string{"password": secret}, user: "vigil", password: secret},
		{name: "empty password is unset", jsonData: `{"defaultBucket":"b"}`, secure: map[string]string{"token": secret, "password": ""}, token: secret},
		{name: "token and user/password", jsonData: `{"defaultBucket":"b","user":"vigil"}`, secure: map[string]string{"token": secret, "password": secret},
			setting: "token", message: `and so are "user"/"password": use either the token or the v1 user and password`},
		{name: "token and user", jsonData: `{"defaultBucket":"b","user":"vigil"}`, secure: map[string]string{"token": secret},
			setting: "token", message: "use either the token or"},
		{name: "token and password", jsonData: `{"defaultBucket":"b"}`, secure: map[string]string{"token": secret, "password": secret},
			setting: "token", message: "use either the token or"},
		{name: "user without password", jsonData: `{"defaultBucket":"b","user":"vigil"}`,
			setting: "password", message: `is empty but "user" is set`},
		{name: "password without user", jsonData: `{"defaultBucket":"b","user":"  "}`, secure: map[string]string{"password": secret},
			setting: "user", message: `is empty but "password" is set`},
		{name: "control character in user", jsonData: `{"defaultBucket":"b","user":"vi\tgil"}`, secure: map[string]string{"password": secret},
			setting: "user", message: "control character"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := instance("http://influx:8086", tt.jsonData, "")
			s.DecryptedSecureJSONData = tt.secure
			got, err := LoadSettings(s)
			if tt.setting == "" {
				if err != nil {
					t.Fatal(err)
				}
				if got.Token != tt.token || got.User != tt.user || got.Password != tt.password {
					t.Fatalf("got token %q user %q password %q", got.Token, got.User, got.Password)
				}
				return
			}
			se, ok := err.(*SettingsError)
			if !ok {
				t.Fatalf("got %v (%T), want *SettingsError", err, err)
			}
			if se.Setting != tt.setting || !strings.Contains(se.Error(), tt.message) {
				t.Fatalf("got %q, want setting %q and message containing %q", se.Error(), tt.setting, tt.message)
			}
			if strings.Contains(se.Error(), secret) {
				t.Fatalf("message leaks a secret: %q", se.Error())
			}
		})
	}
}
