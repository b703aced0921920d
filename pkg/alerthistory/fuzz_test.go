package alerthistory

import (
	"errors"
	"testing"
)

// FuzzParse: the webhook payload parser never panics; a body it refuses gets
// a *PayloadError (the receiver answers 4xx and writes nothing), and every
// payload it accepts becomes one point per alert with Kapacitor's tags and
// fields.
func FuzzParse(f *testing.F) {
	for _, seed := range []string{firing, resolved, `{}`, `[]`, `{"status":"firing","alerts":[{}]}`, `{"status":"firing","alerts":[]} {}`,
		`{"status":"resolved","alerts":[{"status":"resolved","labels":{"alertname":"x"},"startsAt":"2026-01-01T00:00:00Z","endsAt":"2025-01-01T00:00:00Z"}]}`} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		p, err := Parse(body)
		if err != nil {
			if !errors.As(err, new(*PayloadError)) {
				t.Fatalf("refused with %T: %v", err, err)
			}
			return
		}
		points := Points(p)
		if len(points) != len(p.Alerts) {
			t.Fatalf("%d alerts, %d points", len(p.Alerts), len(points))
		}
		for i, pt := range points {
			for _, tag := range []string{TagAlertID, TagAlertName, TagLevel, TagTriggerType} {
				if pt.Tags[tag] == "" {
					t.Fatalf("point %d has no %s: %+v", i, tag, pt)
				}
			}
			if _, ok := pt.Fields[FieldDuration].(int64); !ok || pt.Time.IsZero() {
				t.Fatalf("point %d: %+v", i, pt)
			}
			if d := pt.Fields[FieldDuration].(int64); d < 0 {
				t.Fatalf("point %d: negative duration %d", i, d)
			}
		}
	})
}
