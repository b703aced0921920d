package models

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"unicode/utf8"
)

// CanonicalJSON is the one encoding of a query's identity, used by the Live
// channel (LiveChannel, over the subscription's data; src/validation.ts
// writes the same bytes) and by the kept-state cache (ttest.Key, over the
// parsed query): JSON with object keys sorted by code point, no spaces, no
// HTML escaping, numbers as JavaScript writes them. JSON quotes and escapes
// every string, so no key or value can pass for a separator ("a=b":"c" and
// "a":"b=c" stay apart). v holds what encoding/json decodes into an any
// (objects, arrays, strings, float64, bool, nil) and the typed maps, slices
// and integers a parsed query has. A string that is not UTF-8 is refused:
// encoding/json would write U+FFFD for every invalid byte, so two different
// strings would encode alike.
func CanonicalJSON(v any) ([]byte, error) {
	var b bytes.Buffer
	if err := writeCanonical(&b, v); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// IdentityHash is the channel's identity hash: SHA-256 of the canonical
// identity, its first 128 bits as 32 hex digits (a collision takes about
// 2^64 tries, a second preimage 2^128; FNV-1a 64 collisions can be built by hand).
func IdentityHash(canonical []byte) string {
	sum := sha256.Sum256(canonical)
	return hex.EncodeToString(sum[:16])
}

func writeCanonical(b *bytes.Buffer, v any) error {
	switch x := v.(type) {
	case map[string]any:
		return writeObject(b, x, func(v any) any { return v })
	case map[string]string:
		return writeObject(b, x, func(v string) any { return v })
	case []any:
		return writeArray(b, x)
	case []string:
		return writeArray(b, x)
	case string:
		if !utf8.ValidString(x) {
			return fmt.Errorf("%q is not UTF-8", x)
		}
		return writeLeaf(b, x)
	case float64:
		if x == 0 {
			x = 0 // -0 too, as JSON.stringify writes it
		}
		return writeLeaf(b, x)
	case nil, bool, int, int64:
		return writeLeaf(b, x)
	default:
		return fmt.Errorf("no canonical JSON for a %T", v)
	}
}

func writeObject[V any](b *bytes.Buffer, m map[string]V, value func(V) any) error {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	// Go compares strings bytewise: for UTF-8 that is code point order.
	slices.Sort(keys)
	b.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		if err := writeCanonical(b, k); err != nil {
			return err
		}
		b.WriteByte(':')
		if err := writeCanonical(b, value(m[k])); err != nil {
			return err
		}
	}
	b.WriteByte('}')
	return nil
}

func writeArray[V any](b *bytes.Buffer, list []V) error {
	b.WriteByte('[')
	for i, v := range list {
		if i > 0 {
			b.WriteByte(',')
		}
		if err := writeCanonical(b, any(v)); err != nil {
			return err
		}
	}
	b.WriteByte(']')
	return nil
}

// writeLeaf writes a string, number, bool or null as encoding/json does,
// less its HTML escaping (JSON.stringify has none); it still escapes
// U+2028 and U+2029, which src/validation.ts does too.
func writeLeaf(b *bytes.Buffer, v any) error {
	enc := json.NewEncoder(b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return err
	}
	b.Truncate(b.Len() - 1) // Encode's newline
	return nil
}

// Identity is what an anomaly query adds to the kept-state cache key
// (ttest.Key, over the parsed query; CanonicalJSON encodes it): every
// detector setting, since each changes which windows are anomalous and so
// which enter the baseline. Settings the detector does not use are zero in
// a parsed query (ParseQuery), so they do not split the cache; the season
// is in nanoseconds ("1d" and "24h" share an entry). Output is left out:
// every output is read from the same verdicts, as the t-test's key leaves
// out its output. The keys are not the t-test's, so the two maps merge.
func (a Anomaly) Identity() map[string]any {
	return map[string]any{
		"detector":     string(a.Detector),
		"threshold":    a.Threshold,
		"season":       int64(a.Season),
		"seasons":      a.Seasons,
		"minDeviation": a.MinDeviation,
		"direction":    string(a.Direction),
		"hwAlpha":      a.HWAlpha,
		"hwBeta":       a.HWBeta,
		"hwGamma":      a.HWGamma,
	}
}
