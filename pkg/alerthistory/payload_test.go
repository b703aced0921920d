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
