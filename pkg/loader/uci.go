package loader

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/vigil/vigil-anomaly-datasource/pkg/datagen"
)

// ParseUCI reads household_power_consumption.txt: a header row, then
// `;`-separated rows of Date (d/m/yyyy, not zero-padded), Time (hh:mm:ss)
// and the seven values, "?" for a missing one. Times are taken as UTC (the
// file has no zone). fn gets every row in file order; a malformed row is an
// error naming its line.
func ParseUCI(r io.Reader, fn func(datagen.HouseholdRow) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<16), 1<<20)
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimRight(sc.Text(), "\r")
		if line == 1 {
			if !strings.HasPrefix(text, "Date;Time;") {
				return fmt.Errorf("line 1: not the UCI header (Date;Time;Global_active_power;...): %q", text)
			}
			continue
		}
		if strings.TrimSpace(text) == "" {
			continue
		}
		row, err := parseUCIRow(text)
		if err != nil {
			return fmt.Errorf("line %d: %w", line, err)
		}
		if err := fn(row); err != nil {
			return err
		}
	}
	return sc.Err()
}

func parseUCIRow(text string) (datagen.HouseholdRow, error) {
	cols := strings.Split(text, ";")
	if len(cols) != 9 {
		return datagen.HouseholdRow{}, fmt.Errorf("%d columns, want 9", len(cols))
	}
	ts, err := time.Parse("2/1/2006 15:04:05", cols[0]+" "+cols[1])
	if err != nil {
		return datagen.HouseholdRow{}, fmt.Errorf("date and time %q %q: want d/m/yyyy hh:mm:ss", cols[0], cols[1])
	}
	row := datagen.HouseholdRow{Time: ts.UTC()}
	for i, c := range cols[2:] {
		c = strings.TrimSpace(c)
		if c == "?" || c == "" {
			row.Values[i] = math.NaN()
			continue
		}
		v, err := strconv.ParseFloat(c, 64)
		if err != nil {
			return datagen.HouseholdRow{}, fmt.Errorf("%s %q is not a number", datagen.HouseholdFields[i], c)
		}
		row.Values[i] = v
	}
	return row, nil
}
