// Package dataplane checks the frames a data source returns to a Grafana
// alert rule against Grafana's data plane contract
// (https://grafana.github.io/dataplane/contract/) and reads the series or
// numbers out of them the way Grafana's server-side expressions do.
//
// The rules, their sources and how each is enforced are in README.md. Each
// violation names its rule (the Rule* constants), the frame and the field.
package dataplane

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/data"
)

// Rule identifiers, one per row of README.md's table.
const (
	RuleFrameNotNil      = "frame-not-nil"
	RuleNoDataAlone      = "nodata-alone"
	RuleTypeDeclared     = "type-declared"
	RuleTypeVersion      = "type-version"
	RuleTypeConsistent   = "type-consistent"
	RuleFieldLengths     = "field-lengths"
	RuleTimeField        = "time-field"
	RuleTimeNoLabels     = "time-no-labels"
	RuleTimeSorted       = "time-sorted"
	RuleTimeUnique       = "time-unique"
	RuleValueNumeric     = "value-numeric"
	RuleOneValuePerFrame = "one-value-per-frame"
	RuleSingleFrame      = "single-frame"
	RuleNumericRows      = "numeric-rows"
	RuleLongDimensions   = "long-dimensions"
	RuleSeriesUnique     = "series-unique"
	RuleLabelsUnique     = "labels-unique"
)

// LatestTypeVersion is the newest type version of every format this
// checker implements (all data plane formats it reads are at 0.1).
var LatestTypeVersion = data.FrameTypeVersion{0, 1}

// Violation is one broken rule. Frame and Field are indices into the
// response (-1 when the rule is about the whole response or frame).
type Violation struct {
	Rule  string
	Frame int
	Field int
	Msg   string
}

func (v Violation) String() string {
	where := "response"
	switch {
	case v.Frame >= 0 && v.Field >= 0:
		where = fmt.Sprintf("frame %d field %d", v.Frame, v.Field)
	case v.Frame >= 0:
		where = fmt.Sprintf("frame %d", v.Frame)
	}
	return fmt.Sprintf("%s: %s: %s", v.Rule, where, v.Msg)
}

// Error lists every violation found in one response.
type Error struct{ Violations []Violation }

func (e *Error) Error() string {
	parts := make([]string, len(e.Violations))
	for i, v := range e.Violations {
		parts[i] = v.String()
	}
	return "data plane contract violated: " + strings.Join(parts, "; ")
}

// Rules returns the rule identifiers broken, in order, for tests and logs.
func (e *Error) Rules() []string {
	out := make([]string, len(e.Violations))
	for i, v := range e.Violations {
		out[i] = v.Rule
	}
	return out
}

// Series is one time series of a response: its name (the value field's
// name), labels and points; a nil value is a null.
type Series struct {
	Name   string
	Labels data.Labels
	Time   []time.Time
	Values []*float64
}

// Number is one item of a numeric response; a nil value is a null.
type Number struct {
	Name   string
	Labels data.Labels
	Value  *float64
}

// Response is what a valid response holds. NoData is the contract's "No
// Data" response (no frames, or a single frame with no fields); a series
// with no points is an "empty value" item, not NoData.
type Response struct {
	Type    data.FrameType
	NoData  bool
	Series  []Series
	Numbers []Number
}

// CheckNumeric checks frames returned to an alert rule: a data plane time
// series or numeric response that server-side expressions can reduce and
// threshold. It returns nil or an *Error listing every violation.
func CheckNumeric(frames data.Frames) error {
	_, err := Read(frames)
	return err
}

// Read checks frames (as CheckNumeric) and returns their series or numbers.
// On a violation it returns a nil Response and an *Error.
func Read(frames data.Frames) (*Response, error) {
	c := &checker{}
	resp := c.read(frames)
	if len(c.violations) > 0 {
		return nil, &Error{Violations: c.violations}
	}
	return resp, nil
}

// AsError returns the *Error inside err, if any.
func AsError(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}

type checker struct{ violations []Violation }

func (c *checker) add(rule string, frame, field int, format string, args ...any) {
	c.violations = append(c.violations, Violation{Rule: rule, Frame: frame, Field: field, Msg: fmt.Sprintf(format, args...)})
}

func (c *checker) read(frames data.Frames) *Response {
	if len(frames) == 0 {
		return &Response{NoData: true}
	}
	for i, f := range frames {
		if f == nil {
			c.add(RuleFrameNotNil, i, -1, "nil frame")
		}
	}
	if len(c.violations) > 0 {
		return nil
	}
	// "No Data": one frame without fields, and nothing else.
	noFields := 0
	for i, f := range frames {
		if len(f.Fields) == 0 {
			noFields++
			if len(frames) > 1 {
				c.add(RuleNoDataAlone, i, -1, "a frame with no fields (the No Data response) must be the only frame, got %d frames", len(frames))
			}
		}
	}
	if noFields > 0 {
		if len(frames) == 1 {
			return &Response{NoData: true, Type: frameType(frames[0])}
		}
		return nil
	}

	typ := frameType(frames[0])
	if !typ.IsTimeSeries() && !typ.IsNumeric() {
		c.add(RuleTypeDeclared, 0, -1, "frame type %q is not a data plane time series or numeric type (Meta.Type must be set)", typ)
		return nil
	}
	//lint:ignore SA1019 the deprecated type is what this rule detects
	if typ == data.FrameTypeTimeSeriesMany {
		c.add(RuleTypeDeclared, 0, -1, "frame type %q is deprecated, use %q", typ, data.FrameTypeTimeSeriesMulti)
		return nil
	}
	for i, f := range frames {
		if t := frameType(f); t != typ {
			c.add(RuleTypeConsistent, i, -1, "frame type %q differs from the first frame's %q: alerting would ignore this frame", t, typ)
			continue
		}
		v := f.Meta.TypeVersion
		if v.IsZero() {
			c.add(RuleTypeVersion, i, -1, "type version 0.0: Grafana's expressions read the frame as legacy data, not by the data plane contract")
		} else if v.Greater(LatestTypeVersion) {
			c.add(RuleTypeVersion, i, -1, "type version %s is newer than %s, the latest this checker knows", v, LatestTypeVersion)
		}
		if _, err := f.RowLen(); err != nil {
			c.add(RuleFieldLengths, i, -1, "fields of different lengths: %v", err)
		}
	}
	if len(c.violations) > 0 {
		return nil
	}

	resp := &Response{Type: typ}
	switch typ {
	case data.FrameTypeTimeSeriesMulti:
		for i, f := range frames {
			resp.Series = append(resp.Series, c.multiSeries(i, f)...)
		}
	case data.FrameTypeTimeSeriesWide:
		if c.singleFrame(frames) {
			resp.Series = c.wideSeries(0, frames[0])
		}
	case data.FrameTypeTimeSeriesLong:
		if c.singleFrame(frames) {
			resp.Series = c.longSeries(0, frames[0])
		}
	case data.FrameTypeNumericMulti:
		for i, f := range frames {
			resp.Numbers = append(resp.Numbers, c.numbers(i, f, true)...)
		}
	case data.FrameTypeNumericWide:
		if c.singleFrame(frames) {
			resp.Numbers = c.numbers(0, frames[0], false)
		}
	case data.FrameTypeNumericLong:
		if c.singleFrame(frames) {
			resp.Numbers = c.numericLong(0, frames[0])
		}
	}
	c.unique(resp)
	if len(c.violations) > 0 {
		return nil
	}
	return resp
}

func frameType(f *data.Frame) data.FrameType {
	if f.Meta == nil {
		return data.FrameTypeUnknown
	}
	return f.Meta.Type
}

// singleFrame enforces the wide and long formats' one frame.
func (c *checker) singleFrame(frames data.Frames) bool {
	if len(frames) != 1 {
		c.add(RuleSingleFrame, 1, -1, "format %s has a single frame, got %d", frameType(frames[0]), len(frames))
		return false
	}
	return true
}

// timeIndex returns the time index: the first time field, which must be a
// non-nullable []time.Time without labels, sorted ascending (strictly when
// unique is set).
func (c *checker) timeIndex(fi int, f *data.Frame, unique bool) (int, []time.Time) {
	idx := -1
	for j, fd := range f.Fields {
		if fd.Type().Time() {
			idx = j
			break
		}
	}
	if idx < 0 {
		c.add(RuleTimeField, fi, -1, "no time field")
		return -1, nil
	}
	fd := f.Fields[idx]
	if fd.Type() != data.FieldTypeTime {
		c.add(RuleTimeField, fi, idx, "time field is nullable (%s): the time index must have no null values", fd.Type())
		return -1, nil
	}
	if len(fd.Labels) > 0 {
		c.add(RuleTimeNoLabels, fi, idx, "time field has labels %s", fd.Labels)
	}
	times := make([]time.Time, fd.Len())
	for r := range times {
		times[r] = fd.At(r).(time.Time)
	}
	for r := 1; r < len(times); r++ {
		if times[r].Before(times[r-1]) {
			c.add(RuleTimeSorted, fi, idx, "time not ascending at row %d (%s after %s)", r, times[r].Format(time.RFC3339Nano), times[r-1].Format(time.RFC3339Nano))
			break
		}
		if unique && times[r].Equal(times[r-1]) {
			c.add(RuleTimeUnique, fi, idx, "duplicate timestamp %s at row %d", times[r].Format(time.RFC3339Nano), r)
			break
		}
	}
	return idx, times
}

// valueIndices returns the numeric fields of a frame, and flags bool value
// fields, which the contract allows but alerting expressions cannot reduce.
func (c *checker) valueIndices(fi int, f *data.Frame) []int {
	var out []int
	for j, fd := range f.Fields {
		switch {
		case fd.Type().Numeric():
			out = append(out, j)
		case fd.Type() == data.FieldTypeBool || fd.Type() == data.FieldTypeNullableBool:
			c.add(RuleValueNumeric, fi, j, "bool value field %q: alert expressions need numbers", fd.Name)
		}
	}
	return out
}

func floats(fd *data.Field) []*float64 {
	out := make([]*float64, fd.Len())
	for r := range out {
		v, err := fd.NullableFloatAt(r)
		if err == nil {
			out[r] = v
		}
	}
	return out
}

func (c *checker) multiSeries(fi int, f *data.Frame) []Series {
	_, times := c.timeIndex(fi, f, true)
	vals := c.valueIndices(fi, f)
	if len(vals) == 0 {
		c.add(RuleValueNumeric, fi, -1, "no numeric value field")
		return nil
	}
	if len(vals) > 1 {
		c.add(RuleOneValuePerFrame, fi, vals[1], "%d numeric fields: timeseries-multi has one series per frame and alerting ignores all but the first", len(vals))
	}
	fd := f.Fields[vals[0]]
	return []Series{{Name: fd.Name, Labels: fd.Labels.Copy(), Time: times, Values: floats(fd)}}
}

func (c *checker) wideSeries(fi int, f *data.Frame) []Series {
	_, times := c.timeIndex(fi, f, true)
	vals := c.valueIndices(fi, f)
	if len(vals) == 0 {
		c.add(RuleValueNumeric, fi, -1, "no numeric value field")
		return nil
	}
	out := make([]Series, 0, len(vals))
	for _, j := range vals {
		fd := f.Fields[j]
		out = append(out, Series{Name: fd.Name, Labels: fd.Labels.Copy(), Time: times, Values: floats(fd)})
	}
	return out
}

// dimensions returns the string fields of a long frame, which hold the
// dimensions (labels) of each row.
func dimensions(f *data.Frame) []int {
	var out []int
	for j, fd := range f.Fields {
		if fd.Type() == data.FieldTypeString || fd.Type() == data.FieldTypeNullableString {
			out = append(out, j)
		}
	}
	return out
}

func rowLabels(f *data.Frame, dims []int, r int) data.Labels {
	l := data.Labels{}
	for _, j := range dims {
		if v, ok := f.Fields[j].ConcreteAt(r); ok {
			l[f.Fields[j].Name] = v.(string)
		} else {
			l[f.Fields[j].Name] = ""
		}
	}
	return l
}

func (c *checker) longSeries(fi int, f *data.Frame) []Series {
	_, times := c.timeIndex(fi, f, false)
	vals := c.valueIndices(fi, f)
	if len(vals) == 0 {
		c.add(RuleValueNumeric, fi, -1, "no numeric value field")
		return nil
	}
	dims := dimensions(f)
	var out []Series
	index := map[string]int{}
	for r := range times {
		l := rowLabels(f, dims, r)
		for _, j := range vals {
			fd := f.Fields[j]
			key := fd.Name + "\x00" + l.String()
			k, ok := index[key]
			if !ok {
				k = len(out)
				index[key] = k
				out = append(out, Series{Name: fd.Name, Labels: l.Copy()})
			}
			s := &out[k]
			if n := len(s.Time); n > 0 && s.Time[n-1].Equal(times[r]) {
				c.add(RuleTimeUnique, fi, j, "series %s%s has two rows at %s", fd.Name, l, times[r].Format(time.RFC3339Nano))
				return nil
			}
			v, _ := fd.NullableFloatAt(r)
			s.Time = append(s.Time, times[r])
			s.Values = append(s.Values, v)
		}
	}
	return out
}

// numbers reads a numeric-multi (one value field) or numeric-wide frame.
func (c *checker) numbers(fi int, f *data.Frame, multi bool) []Number {
	rows, _ := f.RowLen()
	if rows > 1 {
		c.add(RuleNumericRows, fi, -1, "%d rows: a numeric frame has no rows or one", rows)
		return nil
	}
	vals := c.valueIndices(fi, f)
	if len(vals) == 0 {
		c.add(RuleValueNumeric, fi, -1, "no numeric value field")
		return nil
	}
	if multi && len(vals) > 1 {
		c.add(RuleOneValuePerFrame, fi, vals[1], "%d numeric fields: numeric-multi has one number per frame and alerting ignores all but the first", len(vals))
		vals = vals[:1]
	}
	out := make([]Number, 0, len(vals))
	for _, j := range vals {
		fd := f.Fields[j]
		n := Number{Name: fd.Name, Labels: fd.Labels.Copy()}
		if rows == 1 {
			n.Value = floats(fd)[0]
		}
		out = append(out, n)
	}
	return out
}

func (c *checker) numericLong(fi int, f *data.Frame) []Number {
	rows, _ := f.RowLen()
	vals := c.valueIndices(fi, f)
	if len(vals) == 0 {
		c.add(RuleValueNumeric, fi, -1, "no numeric value field")
		return nil
	}
	dims := dimensions(f)
	if rows > 1 && len(dims) == 0 {
		c.add(RuleLongDimensions, fi, -1, "%d rows and no string field: the rows cannot be told apart", rows)
		return nil
	}
	var out []Number
	for r := 0; r < rows; r++ {
		l := rowLabels(f, dims, r)
		for _, j := range vals {
			v, _ := f.Fields[j].NullableFloatAt(r)
			out = append(out, Number{Name: f.Fields[j].Name, Labels: l.Copy(), Value: v})
		}
	}
	return out
}

// unique enforces that every item is identified by name and labels (the
// contract) and by labels alone (alerting makes one instance per label set).
func (c *checker) unique(resp *Response) {
	type item struct {
		name   string
		labels data.Labels
	}
	var items []item
	for _, s := range resp.Series {
		items = append(items, item{s.Name, s.Labels})
	}
	for _, n := range resp.Numbers {
		items = append(items, item{n.Name, n.Labels})
	}
	byName := map[string]bool{}
	byLabels := map[string]string{}
	for _, it := range items {
		l := it.labels.String()
		if byName[it.name+"\x00"+l] {
			c.add(RuleSeriesUnique, -1, -1, "two items named %q with labels {%s}", it.name, l)
		}
		byName[it.name+"\x00"+l] = true
		if other, ok := byLabels[l]; ok {
			c.add(RuleLabelsUnique, -1, -1, "items %q and %q both have labels {%s}: alerting could not tell their instances apart", other, it.name, l)
		}
		byLabels[l] = it.name
	}
}
