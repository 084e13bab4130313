package tables

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
)

// Cursors signs and opens the keyset cursors of GET /{t}/data (next_cursor,
// ?cursor=). A cursor holds the order key of the last row a page returned
// and how many rows came before the next page (for metadata.page), plus a
// fingerprint of the listPlan binding it was made for: the table, select,
// filters with the owner restriction, and the order. It is signed with a key
// derived from SECRET_KEY, so its content is trusted only when the server
// made it; it is not encrypted (the key values are the last row's, which
// its reader could read anyway) and does not expire.
type Cursors struct{ key []byte }

// NewCursors derives the cursor key from the server secret (a cursor MAC can
// never pass for a JWT or storage URL signature).
func NewCursors(secret string) *Cursors {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte("selfdb/tables-cursor/v1"))
	return &Cursors{key: m.Sum(nil)}
}

// maxCursorLen bounds a cursor's text before it is decoded (the server reads
// at most 16 KiB of request line and headers anyway).
const maxCursorLen = 12 << 10

// cursorState is a cursor's signed content.
type cursorState struct {
	// Offset is how many rows precede the page the cursor opens.
	Offset int64 `json:"o"`
	// Keys is the last row's order key, as text (null for NULL).
	Keys []*string `json:"k"`
	// Bind is the fingerprint of the plan's binding.
	Bind []byte `json:"b"`
}

func (c *Cursors) mac(parts ...[]byte) []byte {
	m := hmac.New(sha256.New, c.key)
	for _, p := range parts {
		m.Write(p)
	}
	return m.Sum(nil)
}

// fingerprint identifies a binding in 16 bytes.
func (c *Cursors) fingerprint(binding string) []byte {
	return c.mac([]byte("bind\x00"), []byte(binding))[:16]
}

// seal makes the cursor of the page after the row with order key keys.
func (c *Cursors) seal(pl *listPlan, offset int64, keys []*string) (string, error) {
	payload, err := json.Marshal(cursorState{Offset: offset, Keys: keys, Bind: c.fingerprint(pl.binding())})
	if err != nil {
		return "", err
	}
	sig := c.mac([]byte("cursor\x00"), payload)
	return base64.RawURLEncoding.EncodeToString(append(sig, payload...)), nil
}

// open checks a cursor's signature and that it was made for pl. Errors:
// invalid_cursor.
func (c *Cursors) open(token string, pl *listPlan) (*cursorState, error) {
	if len(token) > maxCursorLen {
		return nil, errCursorInvalid
	}
	raw, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil || len(raw) <= sha256.Size {
		return nil, errCursorInvalid
	}
	sig, payload := raw[:sha256.Size], raw[sha256.Size:]
	if !hmac.Equal(sig, c.mac([]byte("cursor\x00"), payload)) {
		return nil, errCursorInvalid
	}
	var st cursorState
	if err := json.Unmarshal(payload, &st); err != nil || st.Offset < 0 {
		return nil, errCursorInvalid
	}
	if !hmac.Equal(st.Bind, c.fingerprint(pl.binding())) {
		return nil, errCursorMismatch
	}
	return &st, nil
}

// The invalid_cursor answers.
var (
	errCursorInvalid  = ErrInvalidCursor.WithMessage("Invalid cursor: use the next_cursor of a page as it was returned")
	errCursorMismatch = ErrInvalidCursor.WithMessage("The cursor belongs to another query: keep the table, order_by, select and filters of the page that returned it")
)
