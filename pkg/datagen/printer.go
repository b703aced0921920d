// Package datagen generates the reference test data sets, deterministically
// from a seed.
package datagen

import (
	"math/rand/v2"
	"strconv"
	"time"
)

// PrinterFields are the printer's temperature fields, in generation order.
var PrinterFields = []string{"hotend", "bed", "air"}

// PrinterPoints is the reference data set's length: 24 h at 1 Hz, both ends included.
const PrinterPoints = 86_402

// PrinterMeasurement is the measurement the printer data is written to.
const PrinterMeasurement = "temperatures"

// PrinterTopic is the Kafka topic the demo and the tests produce printer
// telemetry to (the provisioned dashboard\'s kafka panel reads it).
const PrinterTopic = "printer"

// step is one entry of a field's schedule: from second At on, values are
// drawn from N(target + Offset, Sigma).
type step struct {
	At            int
	Sigma, Offset float64
}

type fieldSchedule struct {
	target float64
	steps  []step
}

// printerSchedule is the reference generator's schedule (reference.md, section 2).
var printerSchedule = [3]fieldSchedule{
	{220, []step{{0, 0.5, 0}, {3600, 3.0, -1.5}, {3900, 0.5, 0}}},
	{90, []step{{0, 1.0, 0}, {28800, 5.0, 2.0}, {29700, 1.0, 0}}},
	{70, []step{{0, 3.0, 0}, {10800, 5.0, 0}, {43200, 15.0, -5.0}, {45000, 5.0, 0}, {72000, 3.0, 0}}},
}

// PrinterPoint is one second of printer temperatures.
type PrinterPoint struct {
	Time   time.Time
	Values [3]float64 // hotend, bed, air
}

// Printer generates the reference printer data: one point per second from
// start, second s of the schedule being start + s. The schedule repeats every
// 24 h, so a generator run for longer injects the anomalies again each day.
type Printer struct {
	start  time.Time
	rng    *rand.Rand
	second int
}

// NewPrinter returns a generator seeded with seed (PCG, so runs repeat).
func NewPrinter(start time.Time, seed uint64) *Printer {
	return &Printer{start: start, rng: rand.New(rand.NewPCG(seed, 0x76696769))}
}

// Next returns the next point.
func (p *Printer) Next() PrinterPoint {
	s := p.second
	p.second++
	pt := PrinterPoint{Time: p.start.Add(time.Duration(s) * time.Second)}
	day := s % 86_400
	for i, f := range printerSchedule {
		st := f.steps[0]
		for _, candidate := range f.steps {
			if day >= candidate.At {
				st = candidate
			}
		}
		pt.Values[i] = f.target + st.Offset + st.Sigma*p.rng.NormFloat64()
	}
	return pt
}

// CSV renders the point as "unix seconds,hotend,bed,air", each float in its
// shortest exact form (what the Python reference reads).
func (p PrinterPoint) CSV() string {
	return strconv.FormatInt(p.Time.Unix(), 10) + "," + formatFloat(p.Values[0]) + "," + formatFloat(p.Values[1]) + "," + formatFloat(p.Values[2])
}

// LineProtocol renders the point as InfluxDB line protocol with a seconds timestamp.
func (p PrinterPoint) LineProtocol() string { return p.line(strconv.FormatInt(p.Time.Unix(), 10)) }

// LineProtocolNs is the point in line protocol with a nanosecond timestamp,
// the precision of a Kafka topic's messages.
func (p PrinterPoint) LineProtocolNs() string {
	return p.line(strconv.FormatInt(p.Time.UnixNano(), 10))
}

func (p PrinterPoint) line(ts string) string {
	return PrinterMeasurement + " hotend=" + formatFloat(p.Values[0]) + ",bed=" + formatFloat(p.Values[1]) + ",air=" + formatFloat(p.Values[2]) + " " + ts
}

func formatFloat(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

// AnomalyEvery is how often the real-time printer injects an anomaly, and
// AnomalyLength how long it lasts; fields take turns (hotend, bed, air).
const (
	AnomalyEvery  = 15 * time.Minute
	AnomalyLength = 5 * time.Minute
)

// anomalies are each field's anomalous (sigma, offset), from the reference schedule.
var anomalies = [3]step{{0, 3.0, -1.5}, {0, 5.0, 2.0}, {0, 15.0, -5.0}}

// RealtimeAnomaly tells which field (0, 1, 2) is anomalous at t for a
// real-time run started at start, or -1: every AnomalyEvery, beginning one
// AnomalyLength after start, one field for AnomalyLength.
func RealtimeAnomaly(start, t time.Time) int {
	since := t.Sub(start) - AnomalyLength
	if since < 0 {
		return -1
	}
	n := int(since / AnomalyEvery)
	if since%AnomalyEvery >= AnomalyLength {
		return -1
	}
	return n % 3
}

// Realtime returns the point at t for a real-time run started at start:
// the reference's normal (sigma, offset) per field, except the field
// RealtimeAnomaly names, which gets its reference anomaly.
func (p *Printer) Realtime(start, t time.Time) PrinterPoint {
	pt := PrinterPoint{Time: t}
	anomalous := RealtimeAnomaly(start, t)
	for i, f := range printerSchedule {
		st := f.steps[0]
		if i == anomalous {
			st = anomalies[i]
		}
		pt.Values[i] = f.target + st.Offset + st.Sigma*p.rng.NormFloat64()
	}
	return pt
}
