// Package frames turns query results into Grafana data frames.
package frames

import (
	"encoding/base64"
	"encoding/csv"
	"errors"
	"fmt"
	"strconv"
	"strings"
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
// Whatever the stream holds, the frames are bounded: a string (value, name,
// label) longer than influx.MaxString, or strings of more than
// influx.MaxAnswerStrings in all, end the answer with an error; invalid
// UTF-8 is replaced (the HTTP transport of influx.NewClient bounds the
// lines the CSV reader holds).
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
		keep  = &kept{}
	)
	for rs.Next() {
		rec := rs.Record()
		if rec == nil {
			continue // the client's Next is true for an unknown annotation ("#x") before any record
		}
		// TableChanged only reports a new schema; tables that share one are
		// told apart by the record's table number.
		if cur == nil || rs.TableChanged() || rec.Table() != table {
			if cur != nil {
				out = append(out, cur.frame)
			}
			var err error
			if cur, err = newTableBuilder(rs.TableMetadata(), rec, keep); err != nil {
				return nil, err
			}
			table = rec.Table()
		}
		count++
		if count > maxPoints {
			return nil, &models.TooManyPointsError{MaxPoints: maxPoints, Hint: "shorten the time range, aggregate in the query (e.g. |> aggregateWindow(every: v.windowPeriod, fn: mean))"}
		}
		if err := cur.append(rec); err != nil {
			return nil, err
		}
	}
	if err := rs.Err(); err != nil {
		return nil, answerError(err)
	}
	if cur != nil {
		out = append(out, cur.frame)
	}
	return out, nil
}

// answerError is an *influx.Error for a Flux answer the client could not
// parse (CSV, a number, a time, base64), shortened: such errors quote the
// value, which may be MBs. Other errors (the connection's, InfluxDB's own)
// pass unchanged, for the caller to classify.
func answerError(err error) error {
	var (
		ce *csv.ParseError
		ne *strconv.NumError
		te *time.ParseError
		be base64.CorruptInputError
	)
	if errors.As(err, &ce) || errors.As(err, &ne) || errors.As(err, &te) || errors.As(err, &be) {
		return answerLimit("InfluxDB sent a Flux answer Vigil cannot read (%.200s)", strings.ToValidUTF8(err.Error(), "\uFFFD"))
	}
	return err
}

// answerLimit is an answer Vigil does not read, as an *influx.Error (which
// the client's classification passes unchanged).
func answerLimit(format string, args ...any) error {
	return &influx.Error{Kind: influx.KindUnavailable, Message: fmt.Sprintf(format, args...)}
}

// kept counts the bytes of the strings the frames keep.
type kept struct{ bytes int64 }

// str is s as the frames keep it: refused beyond influx.MaxString, or once
// the answer's strings pass influx.MaxAnswerStrings; invalid UTF-8 replaced.
func (k *kept) str(what, s string) (string, error) {
	if len(s) > influx.MaxString {
		return "", answerLimit("InfluxDB answered a Flux %s of %d bytes, more than the %d Vigil reads", what, len(s), influx.MaxString)
	}
	k.bytes += int64(len(s)) + 16
	if k.bytes > influx.MaxAnswerStrings {
		return "", answerLimit("InfluxDB answered Flux strings of more than %d MiB in all, more than Vigil reads: narrow the query", influx.MaxAnswerStrings>>20)
	}
	return strings.ToValidUTF8(s, "\uFFFD"), nil
}

type tableBuilder struct {
	frame   *data.Frame
	columns []string // record value keys, in field order
	series  bool
	keep    *kept
}

func newTableBuilder(meta *query.FluxTableMetadata, first *query.FluxRecord, keep *kept) (*tableBuilder, error) {
	b := &tableBuilder{keep: keep}
	seen := map[string]bool{}
	for _, c := range meta.Columns() {
		if seen[c.Name()] { // the record keeps one value of the two
			return nil, answerLimit("InfluxDB answered a Flux table with two columns named %.200s", influx.String(strings.ToValidUTF8(c.Name(), "\uFFFD")))
		}
		seen[c.Name()] = true
	}
	if isSeries(meta) {
		b.series = true
		valueCol := meta.Column(influx.ColumnIndex(meta, colValue))
		name := colValue
		if f, ok := first.Values()[colField].(string); ok {
			name = f
		}
		measurement := stringValue(first.Values()[colMeasurement])
		var err error
		for _, s := range []*string{&name, &measurement} {
			if *s, err = keep.str("name", *s); err != nil {
				return nil, err
			}
		}
		value := data.NewFieldFromFieldType(fieldType(valueCol.DataType()), 0)
		value.Name = name
		if value.Labels, err = labels(meta, first, keep); err != nil {
			return nil, err
		}
		b.frame = data.NewFrame(measurement, data.NewField("Time", nil, []time.Time{}), value)
		b.columns = []string{colTime, colValue}
		b.frame.Meta = &data.FrameMeta{Type: data.FrameTypeTimeSeriesMulti, TypeVersion: data.FrameTypeVersion{0, 1}}
		return b, nil
	}
	b.frame = data.NewFrame("")
	for _, c := range meta.Columns() {
		if c.Name() == colResult || c.Name() == colTable {
			continue
		}
		name, err := keep.str("column name", c.Name())
		if err != nil {
			return nil, err
		}
		f := data.NewFieldFromFieldType(fieldType(c.DataType()), 0)
		f.Name = name
		b.frame.Fields = append(b.frame.Fields, f)
		b.columns = append(b.columns, c.Name())
	}
	b.frame.Meta = &data.FrameMeta{Type: data.FrameTypeTable}
	return b, nil
}

func (b *tableBuilder) append(r *query.FluxRecord) error {
	values := r.Values()
	if b.series {
		t, ok := values[colTime].(time.Time)
		if !ok {
			return nil // a series point needs a time
		}
		b.frame.Fields[0].Append(t)
		return b.appendValue(b.frame.Fields[1], values[colValue])
	}
	for i, c := range b.columns {
		if err := b.appendValue(b.frame.Fields[i], values[c]); err != nil {
			return err
		}
	}
	return nil
}

// appendValue adds one row to a nullable field; a Flux null stays null.
func (b *tableBuilder) appendValue(f *data.Field, v any) error {
	p := nullable(v)
	if s, ok := p.(*string); ok {
		kept, err := b.keep.str("string", *s)
		if err != nil {
			return err
		}
		p = &kept
	}
	i := f.Len()
	f.Extend(1)
	if p != nil {
		f.Set(i, p)
	}
	return nil
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

func labels(meta *query.FluxTableMetadata, first *query.FluxRecord, keep *kept) (data.Labels, error) {
	l := data.Labels{}
	for _, c := range meta.Columns() {
		switch c.Name() {
		case colTime, colValue, colResult, colTable, colStart, colStop, colField, colMeasurement:
			continue
		}
		if c.IsGroup() {
			name, err := keep.str("label", c.Name())
			if err != nil {
				return nil, err
			}
			if l[name], err = keep.str("label", fmt.Sprint(first.Values()[c.Name()])); err != nil {
				return nil, err
			}
		}
	}
	if len(l) == 0 {
		return nil, nil
	}
	return l, nil
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
