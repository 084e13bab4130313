package users

import (
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/selfdb/selfdb/modules/auth"
)

// userRow is the persisted shape of selfdb.users.
type userRow struct {
	bun.BaseModel `bun:"table:selfdb.users,alias:u"`

	ID             uuid.UUID  `bun:"id,pk,type:uuid"`
	Email          string     `bun:"email,notnull"`
	HashedPassword string     `bun:"hashed_password,notnull"`
	FullName       *string    `bun:"full_name"`
	IsActive       bool       `bun:"is_active,notnull"`
	IsSuperuser    bool       `bun:"is_superuser,notnull"`
	CreatedAt      time.Time  `bun:"created_at,notnull"`
	UpdatedAt      *time.Time `bun:"updated_at"`
}

// public is the row as clients see it.
func (r *userRow) public() *auth.User {
	u := &auth.User{
		ID: r.ID, Email: r.Email, IsActive: r.IsActive, IsSuperuser: r.IsSuperuser,
		FullName: r.FullName, CreatedAt: r.CreatedAt.UTC(),
	}
	if r.UpdatedAt != nil {
		t := r.UpdatedAt.UTC()
		u.UpdatedAt = &t
	}
	return u
}
