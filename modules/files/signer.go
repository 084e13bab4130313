package files

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Signer signs and checks storage URLs: HMAC-SHA256 over method, bucket id,
// object name and expiry, carried in the query (expires, signature) or, for
// uploads, in the path's last segment (PathToken). The key is derived from
// SECRET_KEY so a URL signature can never be mistaken for a JWT signature.
type Signer struct{ key []byte }

// NewSigner derives the URL key from the server secret.
func NewSigner(secret string) *Signer {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte("selfdb/storage-url/v1"))
	return &Signer{key: m.Sum(nil)}
}

// Query parameter names of a signed URL.
const (
	QueryExpires   = "expires"
	QuerySignature = "signature"
)

func (s *Signer) mac(method string, bucketID uuid.UUID, object string, exp int64) []byte {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte(method + "\n" + bucketID.String() + "\n" + object + "\n" + strconv.FormatInt(exp, 10)))
	return m.Sum(nil)
}

// Sign returns the query parameters authorizing method on the object until exp.
func (s *Signer) Sign(method string, bucketID uuid.UUID, object string, exp time.Time) url.Values {
	e := exp.Unix()
	return url.Values{
		QueryExpires:   {strconv.FormatInt(e, 10)},
		QuerySignature: {hex.EncodeToString(s.mac(method, bucketID, object, e))},
	}
}

// PathToken returns the last path segment of a path-signed URL authorizing
// method on the object until exp: "<expires>.<signature>", the same MAC as
// the query form's.
func (s *Signer) PathToken(method string, bucketID uuid.UUID, object string, exp time.Time) string {
	e := exp.Unix()
	return strconv.FormatInt(e, 10) + "." + hex.EncodeToString(s.mac(method, bucketID, object, e))
}

// SplitPathToken reads a PathToken back into expires and signature (both ""
// when it is malformed).
func SplitPathToken(token string) (expires, signature string) {
	e, sig, ok := strings.Cut(token, ".")
	if !ok {
		return "", ""
	}
	return e, sig
}

// Verify reports whether expires/signature authorize method on the object at now.
func (s *Signer) Verify(method string, bucketID uuid.UUID, object, expires, signature string, now time.Time) bool {
	if expires == "" || signature == "" {
		return false
	}
	e, err := strconv.ParseInt(expires, 10, 64)
	if err != nil || now.Unix() > e {
		return false
	}
	got, err := hex.DecodeString(signature)
	if err != nil {
		return false
	}
	return hmac.Equal(got, s.mac(method, bucketID, object, e))
}
