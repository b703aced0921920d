package datagen

import (
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"
)

// HouseholdMeasurement is where household rows are written.
const HouseholdMeasurement = "power"

// HouseholdFields are the UCI data set's value columns, in file order.
var HouseholdFields = []string{
	"Global_active_power", "Global_reactive_power", "Voltage", "Global_intensity",
	"Sub_metering_1", "Sub_metering_2", "Sub_metering_3",
}

// HouseholdRow is one minute of the UCI household data; a missing value
// ("?" in the file) is NaN.
type HouseholdRow struct {
	Time   time.Time
	Values [7]float64 // in HouseholdFields order
}

// LineProtocol renders the row with only the values present; a row with no
// value at all renders as "" (nothing to write).
func (r HouseholdRow) LineProtocol() string {
	var b strings.Builder
	for i, v := range r.Values {
		if math.IsNaN(v) {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(HouseholdFields[i] + "=" + formatFloat(v))
	}
	if b.Len() == 0 {
		return ""
	}
	return HouseholdMeasurement + " " + b.String() + " " + strconv.FormatInt(r.Time.Unix(), 10)
}

// Household generates synthetic minute data in the shape and units of the
// UCI "Individual household electric power consumption" set, for when the
// real file is absent: a daily and weekly rhythm, kitchen, laundry and
// water-heater bursts on the sub-meters, and about 1.25% of rows missing in
// outages of a few minutes to a few hours.
type Household struct {
	t       time.Time
	rng     *rand.Rand
	outage  int // minutes of outage left
	heater  int // minutes of water heater left
	laundry int
	kitchen int
}

// NewHousehold returns a generator whose first row is at start.
func NewHousehold(start time.Time, seed uint64) *Household {
	return &Household{t: start.Truncate(time.Minute), rng: rand.New(rand.NewPCG(seed, 0x686f757365))}
}

// Next returns the next minute's row.
func (h *Household) Next() HouseholdRow {
	row := HouseholdRow{Time: h.t}
	h.t = h.t.Add(time.Minute)
	if h.outage == 0 && h.rng.Float64() < 1.0/4000 {
		h.outage = 1 + int(h.rng.ExpFloat64()*45)
	}
	if h.outage > 0 {
		h.outage--
		for i := range row.Values {
			row.Values[i] = math.NaN()
		}
		return row
	}
	hour := float64(row.Time.Hour()) + float64(row.Time.Minute())/60
	weekend := row.Time.Weekday() == time.Saturday || row.Time.Weekday() == time.Sunday
	// Sub-meters, Wh per minute.
	if h.kitchen == 0 && (hour > 11.5 && hour < 13.5 || hour > 18.5 && hour < 21) && h.rng.Float64() < 0.02 {
		h.kitchen = 10 + h.rng.IntN(40)
	}
	laundryRate := 0.0007
	if weekend {
		laundryRate = 0.002
	}
	if h.laundry == 0 && h.rng.Float64() < laundryRate {
		h.laundry = 60 + h.rng.IntN(90)
	}
	if h.heater == 0 && h.rng.Float64() < 0.01 {
		h.heater = 20 + h.rng.IntN(120)
	}
	var s1, s2, s3 float64
	if h.kitchen > 0 {
		h.kitchen--
		s1 = float64(20 + h.rng.IntN(30))
	}
	if h.laundry > 0 {
		h.laundry--
		s2 = float64(1 + h.rng.IntN(70))
	} else if h.rng.Float64() < 0.3 {
		s2 = 1 // the fridge
	}
	if h.heater > 0 {
		h.heater--
		s3 = float64(17 + h.rng.IntN(3))
	}
	// Unmetered load: a base, a daily rhythm, more at weekends, and spikes.
	unmetered := 4 + 6*math.Max(0, math.Sin((hour-6)/24*2*math.Pi)) + 3*h.rng.Float64()
	if weekend {
		unmetered += 2
	}
	if h.rng.Float64() < 0.01 {
		unmetered += 10 + 40*h.rng.Float64()
	}
	active := math.Round((unmetered+s1+s2+s3)*60/1000*1000) / 1000 // kW, 3 decimals as in the file
	voltage := math.Round((240+3*h.rng.NormFloat64())*100) / 100
	row.Values = [7]float64{
		active,
		math.Round(0.1*h.rng.Float64()*1000) / 1000,
		voltage,
		math.Round(active*1000/voltage*5) / 5,
		s1, s2, s3,
	}
	return row
}
