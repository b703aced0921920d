package alerthistory

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

const firing = `{"receiver":"vigil","status":"firing","version":"1","alerts":[{"status":"firing",
 "labels":{"alertname":"Power consumption","severity":"warning","grafana_folder":"Vigil","house":"paris"},
 "annotations":{"id":"Power_Consumption_Rule:paris","message":"Alert: power consumption","details":"The error of power consumption is greater than the threshold"},
 "startsAt":"2026-11-21T10:00:00Z","endsAt":"0001-01-01T00:00:00Z","values":{"C":1,"B":18.4},"fingerprint":"abc"}]}`

const resolved = `{"receiver":"vigil","status":"resolved","alerts":[{"status":"resolved",
 "labels":{"alertname":"Power consumption","severity":"warning","grafana_folder":"Vigil","house":"paris"},
 "annotations":{"summary":"power back to normal","value":"3.5"},
 "startsAt":"2026-11-21T10:00:00Z","endsAt":"2026-11-21T10:00:12Z"}]}`

func TestPointsFiringAndResolved(t *testing.T) {
	p, err := Parse([]byte(firing))
	if err != nil {
		t.Fatal(err)
	}
	got := Points(p)
	want := []Point{{
		Time: time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC),
		Tags: map[string]string{"alertname": "Power consumption", "severity": "warning", "grafana_folder": "Vigil", "house": "paris",
			"alertID": "Power consumption:house=paris,severity=warning", "alertName": "Power consumption", "level": "WARNING", "triggerType": "threshold"},
		Fields: map[string]any{"message": "Alert: power consumption", "duration": int64(0), "value": 18.4},
	}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("firing:\n got %+v\nwant %+v", got, want)
	}
	p, err = Parse([]byte(resolved))
	if err != nil {
		t.Fatal(err)
	}
	r := Points(p)[0]
	if r.Tags["level"] != "OK" || r.Fields["duration"] != int64(12*time.Second) || r.Fields["value"] != 3.5 ||
		!r.Time.Equal(time.Date(2026, 11, 21, 10, 0, 12, 0, time.UTC)) || r.Fields["message"] != "power back to normal" ||
		r.Tags["alertID"] != want[0].Tags["alertID"] {
		t.Fatalf("resolved: %+v", r)
	}
}

func TestLevelAndDefaults(t *testing.T) {
	for sev, want := range map[string]string{"": "CRITICAL", "critical": "CRITICAL", "Info": "INFO", "page": "CRITICAL", "OK": "OK"} {
		if got := level(sev); got != want {
			t.Errorf("level(%q) = %s, want %s", sev, got, want)
		}
	}
	a := Alert{Status: "firing", Labels: map[string]string{"alertname": "x", "triggerType": "deadman"}, StartsAt: time.Unix(100, 0)}
	p := Points(Payload{Alerts: []Alert{a}})[0]
	if p.Tags["alertID"] != "x:triggerType=deadman" || p.Tags["triggerType"] != "deadman" || p.Fields["value"] != nil {
		t.Fatalf("%+v", p)
	}
}

func TestParseRejects(t *testing.T) {
	tests := []struct{ body, reason string }{
		{`not json`, "not the expected JSON object"},
		{`[1,2]`, "not the expected JSON object"},
		{`{"status":"firing"}`, `"alerts" is missing or empty`},
		{`{"status":"firing","alerts":[]}`, `"alerts" is missing or empty`},
		{`{"alerts":[{}]}`, `"status" must be`},
		{`{"status":"firing","alerts":[{"status":"pending","labels":{"alertname":"a"},"startsAt":"2026-01-01T00:00:00Z"}]}`, `alerts[0].status`},
		{`{"status":"firing","alerts":[{"status":"firing","labels":{},"startsAt":"2026-01-01T00:00:00Z"}]}`, "alerts[0].labels.alertname is missing"},
		{`{"status":"firing","alerts":[{"status":"firing","startsAt":"2026-01-01T00:00:00Z"}]}`, "alerts[0].labels.alertname is missing"},
		{`{"status":"firing","alerts":[{"status":"firing","labels":{"alertname":"a"}}]}`, "alerts[0].startsAt is missing"},
		{`{"status":"firing","alerts":[{"status":"firing","labels":{"alertname":"a"},"startsAt":"yesterday"}]}`, "not the expected JSON object"},
		{`{"status":"resolved","alerts":[{"status":"resolved","labels":{"alertname":"a"},"startsAt":"2026-01-01T00:00:00Z"}]}`, "alerts[0].endsAt is missing"},
		{`{"status":"firing","alerts":[{"status":"firing","labels":{"alertname":"a"},"startsAt":"2026-01-01T00:00:00Z"}]} {}`, "more than one JSON value"},
	}
	for _, tt := range tests {
		_, err := Parse([]byte(tt.body))
		if err == nil || !strings.Contains(err.Error(), tt.reason) {
			t.Errorf("%s: got %v, want %q", tt.body, err, tt.reason)
		}
	}
}

func TestEvents(t *testing.T) {
	at := func(s int) time.Time { return time.Unix(int64(s), 0).UTC() }
	v := 27.97
	records := []Record{
		{Time: at(50), AlertID: "b", AlertName: "B", Level: "OK", Duration: int64(30 * time.Second)}, // fired before the range
		{Time: at(100), AlertID: "a", AlertName: "A", Level: "CRITICAL", Message: "hot", Value: &v},
		{Time: at(100), AlertID: "a", AlertName: "A", Level: "CRITICAL"}, // repeated notification
		{Time: at(112), AlertID: "a", AlertName: "A", Level: "OK", Duration: int64(12 * time.Second)},
		{Time: at(200), AlertID: "a", AlertName: "A", Level: "WARNING"}, // still firing
	}
	got := Events(records)
	want := []Event{
		{Start: at(20), End: at(50), AlertID: "b", AlertName: "B", Level: "OK", Text: "OK"},
		{Start: at(100), End: at(112), AlertID: "a", AlertName: "A", Level: "CRITICAL", Text: "CRITICAL: hot: value 27.97"},
		{Start: at(200), AlertID: "a", AlertName: "A", Level: "WARNING", Text: "WARNING"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v\nwant %+v", got, want)
	}
}

// Real-shaped notifications from both senders. Alertmanager's (webhook
// version 4): group fields, per alert generatorURL and fingerprint, a firing
// alert's endsAt the zero time, no values. Grafana's adds orgId, title,
// state, message, and per alert values, valueString and URLs.
const (
	amFiring = `{"receiver":"vigil","status":"firing","alerts":[{"status":"firing",
 "labels":{"alertname":"Power consumption","severity":"critical","triggerType":"threshold"},
 "annotations":{"details":"The error of power consumption is greater than the threshold","id":"Power_Consumption_Rule","message":"Alert: power consumption","value":"27.97"},
 "startsAt":"2026-11-21T10:00:00.123456789Z","endsAt":"0001-01-01T00:00:00Z","generatorURL":"http://127.0.0.1:9/rule","fingerprint":"5f4c1a3d2b1e0f9a"}],
 "groupLabels":{"alertname":"Power consumption"},"commonLabels":{"alertname":"Power consumption","severity":"critical","triggerType":"threshold"},
 "commonAnnotations":{"id":"Power_Consumption_Rule"},"externalURL":"http://127.0.0.1:9093","version":"4",
 "groupKey":"{}:{alertname=\"Power consumption\"}","truncatedAlerts":0}`
	amMixed = `{"receiver":"vigil","status":"firing","alerts":[
 {"status":"firing","labels":{"alertname":"Power consumption","severity":"critical","triggerType":"threshold"},
  "annotations":{"message":"Alert: power consumption","value":"27.97"},
  "startsAt":"2026-11-21T10:00:00.123456789Z","endsAt":"0001-01-01T00:00:00Z","generatorURL":"","fingerprint":"5f4c1a3d2b1e0f9a"},
 {"status":"resolved","labels":{"alertname":"Power consumption","house":"lyon","severity":"warning"},
  "annotations":{"summary":"back to normal"},
  "startsAt":"2026-11-21T09:00:00Z","endsAt":"2026-11-21T09:05:30Z","generatorURL":"","fingerprint":"0a1b2c3d4e5f6a7b"}],
 "groupLabels":{"alertname":"Power consumption"},"commonLabels":{"alertname":"Power consumption"},"commonAnnotations":{},
 "externalURL":"http://127.0.0.1:9093","version":"4","groupKey":"{}:{alertname=\"Power consumption\"}","truncatedAlerts":0}`
	amResolved = `{"receiver":"vigil","status":"resolved","alerts":[{"status":"resolved",
 "labels":{"alertname":"Power consumption","severity":"critical","triggerType":"threshold"},
 "annotations":{"details":"The error of power consumption is greater than the threshold","id":"Power_Consumption_Rule","message":"Alert: power consumption","value":"27.97"},
 "startsAt":"2026-11-21T10:00:00.123456789Z","endsAt":"2026-11-21T10:02:00Z","generatorURL":"http://127.0.0.1:9/rule","fingerprint":"5f4c1a3d2b1e0f9a"}],
 "groupLabels":{"alertname":"Power consumption"},"commonLabels":{},"commonAnnotations":{},"externalURL":"http://127.0.0.1:9093","version":"4",
 "groupKey":"{}:{alertname=\"Power consumption\"}","truncatedAlerts":0}`
	grafanaFiring = `{"receiver":"vigil","status":"firing","orgId":1,"alerts":[{"status":"firing",
 "labels":{"alertname":"Power consumption","grafana_folder":"Vigil","severity":"critical","triggerType":"threshold"},
 "annotations":{"details":"The error of power consumption is greater than the threshold","id":"Power_Consumption_Rule","message":"Alert: power consumption","value":"18.4"},
 "startsAt":"2026-11-21T10:00:10Z","endsAt":"0001-01-01T00:00:00Z","generatorURL":"http://127.0.0.1:3000/alerting/grafana/vigil-power-consumption/view?orgId=1",
 "fingerprint":"9e5fa3f0a6d2c1b4","silenceURL":"http://127.0.0.1:3000/alerting/silence/new","dashboardURL":"","panelURL":"",
 "values":{"B":18.4,"C":1},"valueString":"[ var='B' labels={} value=18.4 ], [ var='C' labels={} value=1 ]"}],
 "groupLabels":{"alertname":"Power consumption","grafana_folder":"Vigil"},"commonLabels":{"alertname":"Power consumption"},"commonAnnotations":{},
 "externalURL":"http://127.0.0.1:3000/","version":"1","groupKey":"{}/{}:{alertname=\"Power consumption\"}","truncatedAlerts":0,
 "title":"[FIRING:1] Power consumption Vigil (critical threshold)","state":"alerting","message":"**Firing**"}`
	grafanaNoValueAnnotation = `{"receiver":"vigil","status":"firing","orgId":1,"alerts":[{"status":"firing",
 "labels":{"alertname":"Printer anomaly","field":"hotend"},"annotations":{"description":"p-value below alpha"},
 "startsAt":"2026-11-21T10:00:10Z","endsAt":"0001-01-01T00:00:00Z","values":{"C":1,"B":1e-21},"valueString":""}],
 "version":"1","title":"x","state":"alerting","message":""}`
)

func TestPointsFromBothSenders(t *testing.T) {
	start := time.Date(2026, 11, 21, 10, 0, 0, 123456789, time.UTC)
	seedTags := func(level string) map[string]string {
		return map[string]string{"alertname": "Power consumption", "severity": "critical", "triggerType": "threshold",
			"alertID": "Power consumption:severity=critical,triggerType=threshold", "alertName": "Power consumption", "level": level}
	}
	tests := []struct {
		name string
		body string
		want []Point
	}{
		{"alertmanager firing: endsAt zero, no values", amFiring, []Point{{
			Time: start, Tags: seedTags("CRITICAL"),
			Fields: map[string]any{"message": "Alert: power consumption", "duration": int64(0), "value": 27.97},
		}}},
		{"alertmanager group with a firing and a resolved alert", amMixed, []Point{
			{Time: start, Tags: seedTags("CRITICAL"), Fields: map[string]any{"message": "Alert: power consumption", "duration": int64(0), "value": 27.97}},
			{Time: time.Date(2026, 11, 21, 9, 5, 30, 0, time.UTC),
				Tags: map[string]string{"alertname": "Power consumption", "house": "lyon", "severity": "warning",
					"alertID": "Power consumption:house=lyon,severity=warning", "alertName": "Power consumption", "level": "OK", "triggerType": "threshold"},
				Fields: map[string]any{"message": "back to normal", "duration": int64(5*time.Minute + 30*time.Second)}},
		}},
		{"alertmanager resolved: duration endsAt - startsAt", amResolved, []Point{{
			Time: time.Date(2026, 11, 21, 10, 2, 0, 0, time.UTC), Tags: seedTags("OK"),
			Fields: map[string]any{"message": "Alert: power consumption", "duration": int64(2*time.Minute - 123456789), "value": 27.97},
		}}},
		{"grafana firing: value annotation wins over values", grafanaFiring, []Point{{
			Time: time.Date(2026, 11, 21, 10, 0, 10, 0, time.UTC),
			Tags: func() map[string]string {
				m := seedTags("CRITICAL")
				m["grafana_folder"] = "Vigil"
				return m
			}(),
			Fields: map[string]any{"message": "Alert: power consumption", "duration": int64(0), "value": 18.4},
		}}},
		{"grafana without value annotation: first expression value by refID", grafanaNoValueAnnotation, []Point{{
			Time: time.Date(2026, 11, 21, 10, 0, 10, 0, time.UTC),
			Tags: map[string]string{"alertname": "Printer anomaly", "field": "hotend", "alertID": "Printer anomaly:field=hotend",
				"alertName": "Printer anomaly", "level": "CRITICAL", "triggerType": "threshold"},
			Fields: map[string]any{"message": "p-value below alpha", "duration": int64(0), "value": 1e-21},
		}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Parse([]byte(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			if got := Points(p); !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("\n got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

// A repeated notification (Alertmanager's repeat_interval, a retry, or the
// group growing) must give an alert the same point: same tags and time, so
// InfluxDB overwrites it.
func TestRepeatedNotificationGivesTheSamePoint(t *testing.T) {
	first, err := Parse([]byte(amFiring))
	if err != nil {
		t.Fatal(err)
	}
	later, err := Parse([]byte(amMixed))
	if err != nil {
		t.Fatal(err)
	}
	a, b := Points(first)[0], Points(later)[0]
	if !a.Time.Equal(b.Time) || !reflect.DeepEqual(a.Tags, b.Tags) {
		t.Fatalf("the same alert gave different points:\n%+v\n%+v", a, b)
	}
}
