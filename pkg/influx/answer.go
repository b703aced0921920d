package influx

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"strings"

	jsoniter "github.com/json-iterator/go"
)

// An InfluxQL answer is JSON: {"results":[{"statement_id":0,"series":[{"name",
// "tags","columns","values"}],"error"}],"error"}; with chunked=true InfluxDB
// 1.x and 3.x send a stream of such objects, a series split over several.
// decodeAnswer reads it as a stream with a fixed buffer, so no answer is
// ever held whole, and hands each series' rows to a rowSink as they arrive.
// Measured on InfluxDB 1.8 (BenchmarkAnswerFormats): MessagePack is served
// fastest but only by 1.x, CSV as fast as JSON but with every tag set packed
// into one "k=v,k=v" cell that a comma or '=' in a tag value makes
// ambiguous; chunked JSON is what 1.x, 2.x and 3.x all serve, exactly.

// header is what InfluxDB sends before a series' rows.
type header struct {
	Name    string
	Tags    map[string]string
	Columns []string
}

// rowSink takes one series' rows: row reads one row array from the
// iterator; done is called after the series' last row of the chunk.
type rowSink interface {
	row(it *jsoniter.Iterator) error
	done() error
}

// answerBuffer is the decoder's read buffer: the most of an answer held at once.
const answerBuffer = 64 << 10

// decodeAnswer reads an InfluxQL answer from r. open returns the sink for a
// series' rows. A series whose rows come before its columns (no InfluxDB
// sends that order, but JSON allows it) is buffered and then replayed.
func decodeAnswer(r io.Reader, url string, open func(header) rowSink) error {
	body := &eofReader{r: r}
	it := jsoniter.Parse(jsoniter.ConfigDefault, body, answerBuffer)
	for {
		switch next := it.WhatIsNext(); {
		case next == jsoniter.ObjectValue:
			var cb *callbackError
			if err := decodeChunk(it, url, open); errors.As(err, &cb) {
				return cb.err
			} else if err != nil {
				return answerError(err, body.eof, url)
			}
		case next == jsoniter.InvalidValue && errors.Is(it.Error, io.EOF):
			return nil // the end, between two chunks
		case it.Error != nil:
			return answerError(it.Error, body.eof, url)
		default:
			return answerError(fmt.Errorf("found a %s where an answer object was expected", valueNames[next]), body.eof, url)
		}
	}
}

// eofReader notes that the body ended, so that a parse error there reads as
// an answer cut short rather than a malformed one.
type eofReader struct {
	r   io.Reader
	eof bool
}

func (e *eofReader) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if errors.Is(err, io.EOF) {
		e.eof = true
	}
	return n, err
}

var valueNames = map[jsoniter.ValueType]string{
	jsoniter.InvalidValue: "invalid value", jsoniter.StringValue: "string", jsoniter.NumberValue: "number",
	jsoniter.NilValue: "null", jsoniter.BoolValue: "boolean", jsoniter.ArrayValue: "array", jsoniter.ObjectValue: "object",
}

// decodeChunk reads one answer object: its results, each with its series.
func decodeChunk(it *jsoniter.Iterator, url string, open func(header) rowSink) error {
	return decodeLevel(it, url, "results", func() error {
		return decodeLevel(it, url, "series", func() error { return decodeSeries(it, open) })
	})
}

// decodeLevel reads one object of the answer: each element of the array
// under key, and the "error" InfluxDB may put beside it.
func decodeLevel(it *jsoniter.Iterator, url, key string, each func() error) error {
	for k := it.ReadObject(); k != ""; k = it.ReadObject() {
		switch k {
		case key:
			for it.ReadArray() {
				if err := each(); err != nil {
					return err
				}
			}
		case "error":
			if msg := it.ReadString(); msg != "" {
				return fromStatus(http.StatusBadRequest, msg, url)
			}
		default:
			it.Skip()
		}
		if it.Error != nil {
			return it.Error
		}
	}
	return it.Error
}

func decodeSeries(it *jsoniter.Iterator, open func(header) rowSink) error {
	var h header
	var sink rowSink
	var early [][]byte // rows that came before the columns
	for key := it.ReadObject(); key != ""; key = it.ReadObject() {
		switch key {
		case "name":
			h.Name = it.ReadString()
		case "tags":
			h.Tags = map[string]string{}
			for k := it.ReadObject(); k != ""; k = it.ReadObject() {
				h.Tags[k] = it.ReadString()
			}
		case "columns":
			for it.ReadArray() {
				h.Columns = append(h.Columns, it.ReadString())
			}
		case "values":
			if h.Columns == nil {
				for it.ReadArray() {
					early = append(early, append([]byte(nil), it.SkipAndReturnBytes()...))
				}
				break
			}
			sink = open(h)
			for it.ReadArray() {
				if err := sink.row(it); err != nil {
					return err
				}
			}
		default:
			it.Skip()
		}
		if it.Error != nil {
			return it.Error
		}
	}
	if early != nil {
		sink = open(h)
		for _, raw := range early {
			row := jsoniter.ParseBytes(jsoniter.ConfigDefault, raw)
			if err := sink.row(row); err != nil {
				return err
			}
			if row.Error != nil && !errors.Is(row.Error, io.EOF) {
				return row.Error
			}
		}
	}
	if sink == nil {
		return nil // a series without rows
	}
	return sink.done()
}

// callbackError carries an error of the caller's callback through the
// decoder unchanged.
type callbackError struct{ err error }

func (c *callbackError) Error() string { return c.err.Error() }

func callback(err error) error {
	if err == nil {
		return nil
	}
	return &callbackError{err}
}

// answerError classifies a failure met while reading an answer: an error
// InfluxDB put in it, a broken connection, an answer cut short, or a body
// that is not an InfluxQL answer.
func answerError(err error, ended bool, url string) error {
	var known *Error
	var netErr net.Error
	switch {
	case errors.As(err, &known), errors.Is(err, context.Canceled):
		return err
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &netErr):
		return classify(err, url)
	case ended || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		return &Error{Kind: KindUnavailable, Err: err, Message: fmt.Sprintf(
			"InfluxDB at %s ended its answer early (the connection closed mid-answer): try again", url)}
	}
	msg, _, _ := strings.Cut(err.Error(), ", error found in") // jsoniter quotes the bytes around the error
	return &Error{Kind: KindUnavailable, Err: err, Message: fmt.Sprintf(
		"InfluxDB at %s sent an answer that is not InfluxQL JSON (%s)", url, msg)}
}

// genericSink keeps a chunk's rows as Go values (json.Number for numbers),
// for the raw influxql query type and the SHOW statements.
type genericSink struct {
	h    header
	rows [][]any
	fn   func(Series) error
}

func (s *genericSink) row(it *jsoniter.Iterator) error {
	var row []any
	for it.ReadArray() {
		switch it.WhatIsNext() {
		case jsoniter.NumberValue:
			row = append(row, it.ReadNumber())
		case jsoniter.NilValue:
			it.ReadNil()
			row = append(row, nil)
		default:
			row = append(row, it.Read())
		}
	}
	s.rows = append(s.rows, row)
	return it.Error
}

func (s *genericSink) done() error {
	return callback(s.fn(Series{Name: s.h.Name, Tags: s.h.Tags, Columns: s.h.Columns, Values: s.rows}))
}

// Batch is a run of one series' rows, in time order, all of whose values
// are numbers: Times[j] is row j's time (ns) and Values[j*Width+c] the value
// of column c there (of field c, for Points), NaN when the row has none
// (InfluxDB stores no NaN, so NaN always means no value). The slices are
// reused: keep nothing of them after the callback returns.
type Batch struct {
	Tags   map[string]string
	Width  int
	Times  []int64
	Values []float64
}

// Value is column c of row j.
func (b Batch) Value(j, c int) float64 { return b.Values[j*b.Width+c] }

// numericBatch is how many rows a numericSink passes on at once.
const numericBatch = 4096

// numericSink decodes rows of numbers into Batch without boxing a value.
type numericSink struct {
	h       header
	rows    Batch
	fn      func(Batch) error
	typeErr func(column string, v any) error
}

func newNumericSink(h header, fn func(Batch) error, typeErr func(string, any) error) *numericSink {
	width := max(len(h.Columns)-1, 0)
	// Small to begin with: a fleet answers many short series.
	return &numericSink{h: h, fn: fn, typeErr: typeErr, rows: Batch{
		Tags: nonEmpty(h.Tags), Width: width,
		Times: make([]int64, 0, 64), Values: make([]float64, 0, 64*width)}}
}

func (s *numericSink) row(it *jsoniter.Iterator) error {
	col := 0
	for it.ReadArray() {
		switch t := it.WhatIsNext(); {
		case t == jsoniter.InvalidValue:
			if it.Error != nil {
				return it.Error
			}
			return errors.New("InfluxDB answered an invalid value")
		case col == 0 && t == jsoniter.NumberValue:
			s.rows.Times = append(s.rows.Times, it.ReadInt64())
		case col == 0:
			return fmt.Errorf("InfluxDB answered a time of %v, not a number", it.Read())
		case col > s.rows.Width:
			return fmt.Errorf("InfluxDB answered more values than its %d columns", len(s.h.Columns))
		case t == jsoniter.NumberValue:
			s.rows.Values = append(s.rows.Values, it.ReadFloat64())
		case t == jsoniter.NilValue:
			it.ReadNil()
			s.rows.Values = append(s.rows.Values, math.NaN())
		default:
			return callback(s.typeErr(s.h.Columns[col], it.Read()))
		}
		col++
	}
	if it.Error != nil {
		return it.Error
	}
	if col != s.rows.Width+1 {
		return fmt.Errorf("InfluxDB answered a row of %d values for %d columns", col, len(s.h.Columns))
	}
	if len(s.rows.Times) == numericBatch {
		return s.flush()
	}
	return nil
}

func (s *numericSink) flush() error {
	if len(s.rows.Times) == 0 {
		return nil
	}
	err := callback(s.fn(s.rows))
	s.rows.Times, s.rows.Values = s.rows.Times[:0], s.rows.Values[:0]
	return err
}

func (s *numericSink) done() error { return s.flush() }

// nonEmpty drops the empty tag values that GROUP BY * gives a series without
// that tag, so a tag set is the same whichever statement read it.
func nonEmpty(tags map[string]string) map[string]string {
	out := make(map[string]string, len(tags))
	for k, v := range tags {
		if v != "" {
			out[k] = v
		}
	}
	return out
}
