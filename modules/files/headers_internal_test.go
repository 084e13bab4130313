package files

import (
	"errors"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// rangeRE is RFC 9110's byte-range-spec, one of them, with OWS around it:
// first-last, first- or -suffix, digits only.
var rangeRE = regexp.MustCompile(`^bytes=[ \t]*(?:([0-9]+)-([0-9]*)|-([0-9]+))[ \t]*$`)

type rangeVerdict int

const (
	rangeIgnored       rangeVerdict = iota // not one valid range: a server may serve it all
	rangeSatisfiable                       // serve start, length
	rangeUnsatisfiable                     // 416
)

// rfcRange judges a Range header by RFC 9110 §14, apart from parseRange.
// Numbers too long for int64 are judged ignorable: a server MAY ignore Range.
func rfcRange(header string, size int64) (v rangeVerdict, start, length int64) {
	m := rangeRE.FindStringSubmatch(strings.Trim(header, " \t"))
	if m == nil {
		return rangeIgnored, 0, 0
	}
	num := func(s string) (int64, bool) {
		n, err := strconv.ParseInt(s, 10, 64)
		return n, err == nil
	}
	if m[3] != "" {
		n, ok := num(m[3])
		switch {
		case !ok:
			return rangeIgnored, 0, 0
		case n == 0 || size == 0:
			return rangeUnsatisfiable, 0, 0
		}
		return rangeSatisfiable, size - min(n, size), min(n, size)
	}
	first, ok := num(m[1])
	if !ok {
		return rangeIgnored, 0, 0
	}
	last := size - 1
	if m[2] != "" {
		l, ok := num(m[2])
		if !ok || l < first {
			return rangeIgnored, 0, 0
		}
		last = min(l, last)
	}
	if first >= size {
		return rangeUnsatisfiable, 0, 0
	}
	return rangeSatisfiable, first, last - first + 1
}

// entityTagRE is one entity-tag of RFC 9110 (If-None-Match is "*" or a
// list of them, empty elements and OWS allowed).
var entityTagRE = regexp.MustCompile(`^(W/)?"([\x21\x23-\x7e\x80-\xff]*)"$`)

// rfcETagMatch judges If-None-Match by weak comparison; valid is false for a
// header that is neither "*" nor a list of entity-tags.
func rfcETagMatch(header, etag string) (match, valid bool) {
	header = strings.Trim(header, " \t")
	if header == "*" {
		return true, true
	}
	for _, el := range strings.Split(header, ",") {
		el = strings.Trim(el, " \t")
		if el == "" {
			continue
		}
		m := entityTagRE.FindStringSubmatch(el)
		if m == nil {
			return false, false
		}
		match = match || `"`+m[2]+`"` == etag
	}
	return match, true
}

// FuzzDownloadHeaders: parseRange and etagMatches never panic. An accepted
// range lies within the object; it is exactly RFC 9110's for a valid header
// and never ignored then (numbers within int64); a 416 is only for a valid
// range starting at or past the end. If-None-Match agrees with the RFC's
// weak comparison on valid headers, and on others matches only when the
// header holds the ETag or a "*".
func FuzzDownloadHeaders(f *testing.F) {
	type seed struct {
		rng  string
		size int64
		inm  string
	}
	for _, s := range []seed{
		{"bytes=0-9", 100, `"e"`}, {"bytes=-5", 100, `W/"e"`}, {"bytes=5-", 3, "*"}, {"bytes=0-0", 0, `"x", "e"`},
		{"bytes=-0", 10, `"x",,W/"e" `}, {"bytes=+5-", 3, `e`}, {"bytes=1-2,3-4", 10, `"x,"e""`}, {"bytes=5-3", 10, `"x", *`},
		{"bytes=99999999999999999999-", 10, `W/ "e"`}, {"bytes=0-99999999999999999999", 10, ""}, {" bytes= 2-3 ", 10, `"e`},
		{"items=0-1", 5, `""`}, {"bytes=-9223372036854775808", 10, `"E"`}, {"bytes=9223372036854775807-", 1 << 62, `w/"e"`},
		{"bytes=0-9223372036854775807", 9223372036854775807, `"e"` + "\t"}, {"Bytes=0-1", 5, "\x00"}, {"bytes=\u00a05-", 3, `"\u00a0"`},
		{"bytes=-1", 1, `"e" "e"`}, {"bytes=0-", 1, `,`},
	} {
		f.Add(s.rng, s.size, s.inm)
	}
	const etag = `"e"`
	f.Fuzz(func(t *testing.T, header string, size int64, inm string) {
		if size < 0 {
			size = ^size
		}
		start, length, partial, err := parseRange(header, size)
		v, wantStart, wantLength := rfcRange(header, size)
		switch {
		case err != nil:
			if !errors.Is(err, errUnsatisfiable) || v != rangeUnsatisfiable {
				t.Fatalf("parseRange(%q, %d): %v; RFC verdict %d", header, size, err, v)
			}
		case partial:
			if start < 0 || length < 1 || start > size-length {
				t.Fatalf("parseRange(%q, %d) = %d+%d: outside the object", header, size, start, length)
			}
			if v == rangeUnsatisfiable || v == rangeSatisfiable && (start != wantStart || length != wantLength) {
				t.Fatalf("parseRange(%q, %d) = %d+%d; RFC verdict %d: %d+%d", header, size, start, length, v, wantStart, wantLength)
			}
		default:
			if start != 0 || length != size || v != rangeIgnored {
				t.Fatalf("parseRange(%q, %d) = whole %d+%d; RFC verdict %d: %d+%d", header, size, start, length, v, wantStart, wantLength)
			}
		}

		got := etagMatches(inm, etag)
		want, valid := rfcETagMatch(inm, etag)
		if valid && got != want || !valid && got && !strings.Contains(inm, etag) && !strings.Contains(inm, "*") {
			t.Fatalf("etagMatches(%q) = %v; RFC: %v (valid header: %v)", inm, got, want, valid)
		}
	})
}
