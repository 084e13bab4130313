package auth

import (
	"sync"

	"golang.org/x/crypto/bcrypt"
)

// Hasher hashes and checks passwords with bcrypt (api.md §2.4). It verifies
// every bcrypt variant ($2a$, $2b$, $2y$), so hashes from the Python
// version's database keep working.
type Hasher struct {
	cost int

	dummyOnce sync.Once
	dummy     []byte
}

// NewHasher builds a hasher that makes new hashes with cost.
func NewHasher(cost int) *Hasher { return &Hasher{cost: cost} }

// Hash returns the bcrypt hash of password (at most 72 bytes: validated by callers).
func (h *Hasher) Hash(password string) (string, error) {
	b, err := bcrypt.GenerateFromPassword([]byte(password), h.cost)
	return string(b), err
}

// Check reports whether password matches hash.
func (h *Hasher) Check(hash, password string) bool {
	return bcrypt.CompareHashAndPassword([]byte(hash), []byte(password)) == nil
}

// Waste spends the time a Check would, so a login for an unknown email takes
// as long as a wrong password (no account enumeration by timing).
func (h *Hasher) Waste(password string) {
	h.dummyOnce.Do(func() {
		h.dummy, _ = bcrypt.GenerateFromPassword([]byte("selfdb-timing-equaliser"), h.cost)
	})
	_ = bcrypt.CompareHashAndPassword(h.dummy, []byte(password))
}
