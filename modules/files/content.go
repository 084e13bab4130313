package files

import (
	"errors"
	"mime"
	"strings"
)

// binaryType is what the byte routes serve a file of unknown or unusable type as.
const binaryType = "application/octet-stream"

// contentTypeOf is the type the byte routes serve f as (and view-info puts in
// its URL): the stored type, else a guess from the name, else binary. It is
// re-rendered from its parsed form, so the header a browser parses is the one
// activeType judged; a type that does not parse as type/subtype is binary.
func contentTypeOf(f *File) string {
	ct := ""
	if f.ContentType != nil {
		ct = strings.TrimSpace(*f.ContentType)
	}
	if ct == "" {
		ct = GuessType(f.Filename)
	}
	mt, params, err := mime.ParseMediaType(ct)
	if errors.Is(err, mime.ErrInvalidMediaParameter) {
		params, err = nil, nil
	}
	if err != nil || !plainMediaType(mt) {
		return binaryType
	}
	if out := mime.FormatMediaType(mt, params); out != "" {
		return out
	}
	return binaryType
}

// plainMediaType reports whether mt is one concrete type/subtype.
func plainMediaType(mt string) bool {
	top, sub, ok := strings.Cut(mt, "/")
	return ok && top != "" && sub != "" && !strings.Contains(mt, "*") && !strings.Contains(sub, "/")
}

// activeType reports whether a browser showing a document of type ct may run
// script or load active content in it: HTML, SVG, XML (and anything +xml,
// which covers XHTML and XSLT), JavaScript, and the multipart and message
// wrappers that can carry them. The byte routes never show such a file inline
// on the API's origin.
func activeType(ct string) bool {
	mt, _, _ := strings.Cut(ct, ";")
	mt = strings.ToLower(strings.TrimSpace(mt))
	switch mt {
	case "text/html", "application/xhtml+xml", "image/svg+xml", "text/xml", "application/xml", "text/xsl",
		"text/jscript", "text/livescript":
		return true
	}
	return strings.HasSuffix(mt, "+xml") || strings.Contains(mt, "javascript") || strings.Contains(mt, "ecmascript") ||
		strings.HasPrefix(mt, "multipart/") || strings.HasPrefix(mt, "message/")
}

// Headers every byte-route response carries: the bytes are user content, so a
// browser rendering them gets a sandbox (no script, an opaque origin) and no
// type sniffing, whatever the type and whatever the disposition.
const (
	userContentCSP = "sandbox"
	noSniff        = "nosniff"
)
