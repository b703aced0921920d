// Package frames turns query results into Grafana data frames.
package frames

import (
	"fmt"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/data"
	"github.com/influxdata/influxdb-client-go/v2/api/query"

	"github.com/vigil/vigil-anomaly-datasource/pkg/influx"
	"github.com/vigil/vigil-anomaly-datasource/pkg/models"
)

// RecordStream is a Flux result read one record at a time; the InfluxDB
// client's *api.QueryTableResult is one.
type RecordStream interface {
	Next() bool
	TableChanged() bool
	TableMetadata() *query.FluxTableMetadata
	Record() *query.FluxRecord
	Err() error
}

// Column names with a fixed meaning in Flux results.
const (
	colTime        = "_time"
	colValue       = "_value"
	colField       = "_field"
	colMeasurement = "_measurement"
	colStart       = "_start"
	colStop        = "_stop"
	colResult      = "result"
	colTable       = "table"
)

// FromFlux decodes a Flux result stream into frames, one per Flux table, and
// stops with a *models.TooManyPointsError once more than maxPoints records were read.
//
// A table that is a single series (a _time and a _value column, every other
// column part of the group key) becomes a timeseries-multi frame whose value
// field is named by _field and labelled with the group key's tags, as in
// Grafana's own InfluxDB data source. Any other table becomes a table frame.
func FromFlux(rs RecordStream, maxPoints int64) (data.Frames, error) {
	var (
		out   data.Frames
		cur   *tableBuilder
		table int
		count int64
	)
	for rs.Next() {
		// TableChanged only reports a new schema; tables that share one are
		// told apart by the record's table number.
		if cur == nil || rs.TableChanged() || rs.Record().Table() != table {
			if cur != nil {
				out = append(out, cur.frame)
			}
			cur = newTableBuilder(rs.TableMetadata(), rs.Record())
			table = rs.Record().Table()
		}
		count++
		if count > maxPoints {
			return nil, &models.TooManyPointsError{MaxPoints: maxPoints, Hint: "shorten the time range, aggregate in the query (e.g. |> aggregateWindow(every: v.windowPeriod, fn: mean))"}
		}
		cur.append(rs.Record())
	}
	if err := rs.Err(); err != nil {
		return nil, err
	}
	if cur != nil {
		out = append(out, cur.frame)
	}
	return out, nil
}

type tableBuilder struct {
	frame   *data.Frame
	columns []string // record value keys, in field order
	series  bool
}

func newTableBuilder(meta *query.FluxTableMetadata, first *query.FluxRecord) *tableBuilder {
	b := &tableBuilder{}
	if isSeries(meta) {
		b.series = true
		valueCol := meta.Column(influx.ColumnIndex(meta, colValue))
		name := colValue
		if f, ok := first.Values()[colField].(string); ok {
			name = f
		}
		value := data.NewFieldFromFieldType(fieldType(valueCol.DataType()), 0)
		value.Name = name
		value.Labels = labels(meta, first)
		b.frame = data.NewFrame(stringValue(first.Values()[colMeasurement]),
			data.NewField("Time", nil, []time.Time{}), value)
		b.columns = []string{colTime, colValue}
		b.frame.Meta = &data.FrameMeta{Type: data.FrameTypeTimeSeriesMulti, TypeVersion: data.FrameTypeVersion{0, 1}}
		return b
	}
	b.frame = data.NewFrame("")
	for _, c := range meta.Columns() {
		if c.Name() == colResult || c.Name() == colTable {
			continue
		}
		f := data.NewFieldFromFieldType(fieldType(c.DataType()), 0)
		f.Name = c.Name()
		b.frame.Fields = append(b.frame.Fields, f)
		b.columns = append(b.columns, c.Name())
	}
	b.frame.Meta = &data.FrameMeta{Type: data.FrameTypeTable}
	return b
}

func (b *tableBuilder) append(r *query.FluxRecord) {
	values := r.Values()
	if b.series {
		t, ok := values[colTime].(time.Time)
		if !ok {
			return // a series point needs a time
		}
		b.frame.Fields[0].Append(t)
		appendValue(b.frame.Fields[1], values[colValue])
		return
	}
	for i, c := range b.columns {
		appendValue(b.frame.Fields[i], values[c])
	}
}

// appendValue adds one row to a nullable field; a Flux null stays null.
func appendValue(f *data.Field, v any) {
	i := f.Len()
	f.Extend(1)
	if p := nullable(v); p != nil {
		f.Set(i, p)
	}
}

// isSeries: _time and _value present, every other column in the group key
// (or one of Flux's bookkeeping columns).
func isSeries(meta *query.FluxTableMetadata) bool {
	if influx.ColumnIndex(meta, colTime) < 0 || influx.ColumnIndex(meta, colValue) < 0 {
		return false
	}
	if meta.Column(influx.ColumnIndex(meta, colTime)).DataType() != "dateTime:RFC3339" &&
		meta.Column(influx.ColumnIndex(meta, colTime)).DataType() != "dateTime:RFC3339Nano" {
		return false
	}
	for _, c := range meta.Columns() {
		switch c.Name() {
		case colTime, colValue, colResult, colTable, colStart, colStop:
			continue
		}
		if !c.IsGroup() {
			return false
		}
	}
	return true
}

func labels(meta *query.FluxTableMetadata, first *query.FluxRecord) data.Labels {
	l := data.Labels{}
	for _, c := range meta.Columns() {
		switch c.Name() {
		case colTime, colValue, colResult, colTable, colStart, colStop, colField, colMeasurement:
			continue
		}
		if c.IsGroup() {
			l[c.Name()] = fmt.Sprint(first.Values()[c.Name()])
		}
	}
	if len(l) == 0 {
		return nil
	}
	return l
}

// fieldType maps a Flux annotated-CSV data type to a nullable frame field type.
func fieldType(fluxType string) data.FieldType {
	switch fluxType {
	case "double":
		return data.FieldTypeNullableFloat64
	case "long", "duration":
		return data.FieldTypeNullableInt64
	case "unsignedLong":
		return data.FieldTypeNullableUint64
	case "boolean":
		return data.FieldTypeNullableBool
	case "dateTime:RFC3339", "dateTime:RFC3339Nano":
		return data.FieldTypeNullableTime
	default:
		return data.FieldTypeNullableString
	}
}

// nullable converts a decoded Flux value into the pointer its field holds.
func nullable(v any) any {
	switch x := v.(type) {
	case nil:
		return nil
	case float64:
		return &x
	case int64:
		return &x
	case uint64:
		return &x
	case bool:
		return &x
	case time.Time:
		return &x
	case time.Duration:
		n := int64(x)
		return &n
	case string:
		return &x
	case []byte:
		s := string(x)
		return &s
	default:
		s := fmt.Sprint(x)
		return &s
	}
}

func stringValue(v any) string {
	s, _ := v.(string)
	return s
}
