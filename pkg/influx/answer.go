package influx

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
)

// An InfluxQL answer is JSON: {"results":[{"statement_id":0,"series":[{"name",
// "tags","columns","values"}],"error"}],"error"}; with chunked=true InfluxDB
// 1.x and 3.x send a stream of such objects, a series split over several.
// decodeAnswer reads it as a stream with a fixed buffer, so no answer is
// ever held whole, and hands each series' rows to a rowSink as they arrive.
// Measured on InfluxDB 1.8 (BenchmarkAnswerFormats): MessagePack is served
// fastest but only by 1.x; CSV is faster than JSON, but 1.8's CSV writer
// drops statement errors (a missing database answers an empty 200); chunked
// JSON is what 1.x, 2.x and 3.x all serve without losing any.

// header is what InfluxDB sends before a series' rows.
type header struct {
	Name    string
	Tags    map[string]string
	Columns []string
}

// rowSink takes one series' rows: row reads one row array from the
// scanner; done is called after the series' last row of the chunk.
type rowSink interface {
	row(s *scanner) error
	done() error
}

// answerBuffer is the decoder's read buffer: the most of an answer held at once.
const answerBuffer = 64 << 10

// decodeAnswer reads an InfluxQL answer from r. open returns the sink for a
// series' rows. A series whose rows come before its columns (no InfluxDB
// sends that order, but JSON allows it) is buffered and then replayed. An
// answer of more than maxPoints values (0: no bound) is refused with a
// *models.TooManyPointsError, one beyond the scanner's limits with an
// *Error; no answer costs more than those bounds.
func decodeAnswer(r io.Reader, url string, maxPoints int64, open func(header) rowSink) error {
	return decodeWithin(r, url, newBudget(maxPoints), open)
}

// decodeWithin is decodeAnswer within the budget b.
func decodeWithin(r io.Reader, url string, b *budget, open func(header) rowSink) error {
	s := newScanner(r, answerBuffer, b)
	for {
		c, ok := s.peek()
		var err error
		switch {
		case !ok && (s.err == nil || errors.Is(s.err, io.EOF)):
			return nil // the end, between two chunks
		case !ok:
			err = s.err
		case c != '{':
			err = s.syntax("found %q where an answer object was expected", c)
		default:
			err = decodeChunk(s, url, open)
		}
		var cb *callbackError
		if errors.As(err, &cb) {
			return cb.err
		} else if err != nil {
			return answerError(err, url)
		}
	}
}

// decodeChunk reads one answer object: its results, each with its series.
func decodeChunk(s *scanner, url string, open func(header) rowSink) error {
	return decodeLevel(s, url, "results", func() error {
		return decodeLevel(s, url, "series", func() error { return decodeSeries(s, open) })
	})
}

// decodeLevel reads one object of the answer: each element of the array
// under key, and the "error" InfluxDB may put beside it.
func decodeLevel(s *scanner, url, key string, each func() error) error {
	return s.each('{', func(k string) error {
		switch k {
		case key:
			return s.each('[', func(string) error { return each() })
		case "error":
			msg, err := s.str()
			if err == nil && msg != "" {
				return fromStatus(http.StatusBadRequest, msg, url)
			}
			return err
		default:
			return s.skip()
		}
	})
}

func decodeSeries(s *scanner, open func(header) rowSink) error {
	var h header
	var sink rowSink
	var early [][]byte // rows that came before the columns, as JSON
	err := s.each('{', func(key string) error {
		switch key {
		case "name":
			var err error
			h.Name, err = s.held()
			return err
		case "tags":
			h.Tags = map[string]string{}
			return s.each('{', func(k string) error {
				v, err := s.held()
				h.Tags[k] = v
				if err == nil {
					err = s.hold(len(k))
				}
				return err
			})
		case "columns":
			return s.each('[', func(string) error {
				c, err := s.held()
				h.Columns = append(h.Columns, c)
				return err
			})
		case "values":
			if h.Columns == nil {
				return s.each('[', func(string) error {
					v, err := s.value()
					raw, _ := json.Marshal(v)
					early = append(early, raw)
					return err
				})
			}
			sink = open(h)
			return s.each('[', func(string) error { return sink.row(s) })
		default:
			return s.skip()
		}
	})
	if err != nil {
		return err
	}
	if early != nil {
		sink = open(h)
		for _, raw := range early {
			if err := sink.row(newScanner(bytes.NewReader(raw), len(raw)+1, s.b)); err != nil {
				return err
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
func answerError(err error, url string) error {
	var known *Error
	var netErr net.Error
	var answer *errAnswer
	switch {
	case errors.As(err, &known), errors.Is(err, context.Canceled):
		return err
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &netErr):
		return classify(err, url)
	case errors.As(err, &answer) && answer.beyond:
		return &Error{Kind: KindUnavailable, Err: err, Message: fmt.Sprintf(
			"InfluxDB at %s sent an answer beyond what Vigil reads (%s): not an answer InfluxDB sends", url, err)}
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		return &Error{Kind: KindUnavailable, Err: err, Message: fmt.Sprintf(
			"InfluxDB at %s ended its answer early (the connection closed mid-answer): try again", url)}
	}
	return &Error{Kind: KindUnavailable, Err: err, Message: fmt.Sprintf(
		"InfluxDB at %s sent an answer that is not InfluxQL JSON (%s)", url, err)}
}

// genericSink keeps a chunk's rows as Go values (json.Number for numbers),
// for the raw influxql query type and the SHOW statements.
type genericSink struct {
	h    header
	rows [][]any
	fn   func(Series) error
}

// row reads one row; its values after the time (at least one) count
// towards Max points as they come, as frames.InfluxQL counts them.
func (g *genericSink) row(s *scanner) error {
	if c, ok := s.peek(); ok && c != '[' {
		return s.syntax("a row that is not an array")
	}
	row := []any{}
	err := s.each('[', func(string) error {
		v, err := s.value()
		row = append(row, v)
		if err == nil && len(row) > 1 {
			err = s.b.point(1)
		}
		return err
	})
	if err == nil && len(row) <= 1 {
		err = s.b.point(1)
	}
	if err == nil && len(row) != len(g.h.Columns) { // readers index rows by column
		err = s.syntax("a row of %d values for %d columns", len(row), len(g.h.Columns))
	}
	g.rows = append(g.rows, row)
	return err
}

func (g *genericSink) done() error {
	return callback(g.fn(Series{Name: g.h.Name, Tags: g.h.Tags, Columns: g.h.Columns, Values: g.rows}))
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

// numericBatch is how many rows a numericSink passes on at once, and
// numericBatchValues how many values at most (for wide rows).
const (
	numericBatch       = 4096
	numericBatchValues = 1 << 16
)

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
		Times: make([]int64, 0, 64), Values: make([]float64, 0, min(64*width, numericBatchValues))}}
}

func (n *numericSink) row(s *scanner) error {
	col := 0
	err := s.each('[', func(string) error {
		defer func() { col++ }()
		switch {
		case col == 0:
			t, err := s.integer()
			n.rows.Times = append(n.rows.Times, t)
			return err
		case col > n.rows.Width:
			return s.syntax("a row with more values than its %d columns", len(n.h.Columns))
		}
		x, other, err := s.float()
		if err == nil && other != nil {
			return callback(n.typeErr(n.h.Columns[col], other))
		}
		n.rows.Values = append(n.rows.Values, x)
		return err
	})
	if err != nil {
		return err
	}
	if col != n.rows.Width+1 {
		return s.syntax("a row of %d values for %d columns", col, len(n.h.Columns))
	}
	if err := s.b.point(1); err != nil { // a row: at least one point for every reader of Batch
		return err
	}
	if len(n.rows.Times) == numericBatch || len(n.rows.Values) >= numericBatchValues {
		return n.flush()
	}
	return nil
}

func (n *numericSink) flush() error {
	if len(n.rows.Times) == 0 {
		return nil
	}
	err := callback(n.fn(n.rows))
	n.rows.Times, n.rows.Values = n.rows.Times[:0], n.rows.Values[:0]
	return err
}

func (n *numericSink) done() error { return n.flush() }

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
