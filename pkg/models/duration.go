package models

import (
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"

	vigil "github.com/vigil/vigil-anomaly-datasource"
)

// MaxWindow is the longest t-test window, validation.json's window.max:
// the warm-up lookback (ttest.MaxLookback, 2049 windows) must fit in a
// time.Duration, which caps a window at 52 days.
var MaxWindow = mustDuration("window.max", vigil.Rule.Window.Max)

func mustDuration(name, text string) time.Duration {
	d, err := ParseDuration(text)
	if err != nil {
		panic(fmt.Sprintf("models: validation.json's %s %q %v", name, text, err))
	}
	return d
}

// ParseDuration reads a duration in the syntax of src/validation.json (the
// front end reads the same file): one or more <number><unit> terms such as
// 5m, 1h30m, 1d12h or 1.5d. Each term is number x unit exactly, its
// fraction truncated to whole nanoseconds; the result must fit in a
// time.Duration.
func ParseDuration(text string) (time.Duration, error) {
	rule := vigil.Rule.Duration
	if text == "" {
		return 0, errors.New("is empty")
	}
	total := new(big.Int)
	for rest := text; rest != ""; {
		whole, frac, unit, next, err := durationTerm(rest)
		if err != nil {
			return 0, err
		}
		if len(frac) > rule.MaxFractionDigits {
			return 0, errors.New("has too many decimals")
		}
		ns, ok := rule.UnitsNs[unit]
		if !ok {
			return 0, errors.New("has an unknown unit")
		}
		// (whole.frac) x ns = (whole x 10^k + frac) x ns / 10^k, k = len(frac)
		scale := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(len(frac))), nil)
		n, _ := new(big.Int).SetString(whole+frac, 10)
		n.Mul(n, big.NewInt(ns))
		total.Add(total, n.Quo(n, scale))
		rest = next
	}
	if !total.IsInt64() {
		return 0, errors.New("is too long")
	}
	return time.Duration(total.Int64()), nil
}

// durationTerm splits the leading <digits>[.<digits>]<unit> off s.
func durationTerm(s string) (whole, frac, unit, rest string, err error) {
	i := digits(s)
	whole, s = s[:i], s[i:]
	if whole == "" {
		return "", "", "", "", errors.New("must start each part with a number")
	}
	if strings.HasPrefix(s, ".") {
		j := digits(s[1:])
		if j == 0 {
			return "", "", "", "", errors.New("needs digits after the decimal point")
		}
		frac, s = s[1:1+j], s[1+j:]
	}
	j := strings.IndexFunc(s, func(r rune) bool { return r >= '0' && r <= '9' })
	if j < 0 {
		j = len(s)
	}
	if j == 0 {
		return "", "", "", "", errors.New("needs a unit after each number")
	}
	return whole, frac, s[:j], s[j:], nil
}

// digits is the length of the run of ASCII digits that starts s.
func digits(s string) int {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	return i
}
