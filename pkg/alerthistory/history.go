package alerthistory

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/vigil/vigil-anomaly-datasource/pkg/influx"
)

// Record is one stored alert-history point.
type Record struct {
	Time        time.Time
	AlertID     string
	AlertName   string
	Level       string
	TriggerType string
	Message     string
	Duration    int64
	Value       *float64
	// Labels are the point's other tags (the alert's labels).
	Labels map[string]string
}

// Source runs InfluxQL; *influx.Client is one.
type Source interface {
	InfluxQL(ctx context.Context, db, statement string, fn func(influx.Series) error) error
}

// Statement selects the history in [from, to), oldest first.
func Statement(sel influx.Selection, from, to time.Time) string {
	return fmt.Sprintf("SELECT * FROM %s WHERE %s", sel.From(), sel.Where(from, to))
}

// Read returns the stored history in [from, to) and the statement it ran.
func Read(ctx context.Context, src Source, sel influx.Selection, from, to time.Time) ([]Record, string, error) {
	stmt := Statement(sel, from, to)
	var out []Record
	err := src.InfluxQL(ctx, sel.Database(), stmt, func(s influx.Series) error {
		for _, row := range s.Values {
			r := Record{Labels: map[string]string{}}
			for i, col := range s.Columns {
				v := row[i]
				switch col {
				case "time":
					n, ok := v.(json.Number)
					if !ok {
						return fmt.Errorf("InfluxDB answered the alert history with a time that is not an epoch: %.40v", v)
					}
					ns, _ := n.Int64()
					r.Time = time.Unix(0, ns).UTC()
				case TagAlertID:
					r.AlertID = str(v)
				case TagAlertName:
					r.AlertName = str(v)
				case TagLevel:
					r.Level = str(v)
				case TagTriggerType:
					r.TriggerType = str(v)
				case FieldMessage:
					r.Message = str(v)
				case FieldDuration:
					if n, ok := v.(json.Number); ok {
						r.Duration, _ = n.Int64()
					}
				case FieldValue:
					if n, ok := v.(json.Number); ok {
						if f, err := n.Float64(); err == nil {
							r.Value = &f
						}
					}
				default:
					if s := str(v); s != "" {
						r.Labels[col] = s
					}
				}
			}
			out = append(out, r)
		}
		return nil
	})
	if err != nil {
		return nil, stmt, err
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Time.Before(out[j].Time) })
	return out, stmt, nil
}

func str(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case json.Number:
		return x.String()
	case nil:
		return ""
	}
	return fmt.Sprint(v)
}

// Event is an alert episode: from when it fired to when it resolved (End is
// zero while it is still firing).
type Event struct {
	Start, End time.Time
	AlertID    string
	AlertName  string
	Level      string
	Text       string
}

// Events pairs each alert's firing record with the OK that ends it. An OK
// whose firing lies before the range starts its duration earlier; a firing
// with no OK yet is open.
func Events(records []Record) []Event {
	var out []Event
	open := map[string]int{} // alertID -> index in out
	for _, r := range records {
		if r.Level == "OK" {
			if i, ok := open[r.AlertID]; ok {
				out[i].End = r.Time
				delete(open, r.AlertID)
			} else {
				out = append(out, Event{Start: r.Time.Add(-time.Duration(r.Duration)), End: r.Time,
					AlertID: r.AlertID, AlertName: r.AlertName, Level: "OK", Text: text(r)})
			}
			continue
		}
		if _, ok := open[r.AlertID]; ok {
			continue // a repeated notification of the same episode
		}
		open[r.AlertID] = len(out)
		out = append(out, Event{Start: r.Time, AlertID: r.AlertID, AlertName: r.AlertName, Level: r.Level, Text: text(r)})
	}
	return out
}

func text(r Record) string {
	parts := []string{r.Level}
	if r.Message != "" {
		parts = append(parts, r.Message)
	}
	if r.Value != nil {
		parts = append(parts, fmt.Sprintf("value %g", *r.Value))
	}
	return strings.Join(parts, ": ")
}
