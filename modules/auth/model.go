package auth

import (
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"
)

// User is an account as clients see it (api.md §3): never the password hash.
// It is also the value cached under users:<id>.
type User struct {
	ID          uuid.UUID  `json:"id"`
	Email       string     `json:"email"`
	IsActive    bool       `json:"is_active"`
	IsSuperuser bool       `json:"is_superuser"`
	FullName    *string    `json:"full_name"`
	CreatedAt   time.Time  `json:"created_at"`
	UpdatedAt   *time.Time `json:"updated_at"`
}

// userRow is the persisted shape of selfdb.users.
type userRow struct {
	bun.BaseModel `bun:"table:selfdb.users,alias:u"`

	ID             uuid.UUID  `bun:"id,pk,type:uuid,default:gen_random_uuid()"`
	Email          string     `bun:"email,notnull"`
	HashedPassword string     `bun:"hashed_password,notnull"`
	FullName       *string    `bun:"full_name"`
	IsActive       bool       `bun:"is_active,notnull"`
	IsSuperuser    bool       `bun:"is_superuser,notnull"`
	CreatedAt      time.Time  `bun:"created_at,notnull,default:now()"`
	UpdatedAt      *time.Time `bun:"updated_at"`
}

func (r *userRow) public() *User {
	return &User{
		ID: r.ID, Email: r.Email, IsActive: r.IsActive, IsSuperuser: r.IsSuperuser,
		FullName: r.FullName, CreatedAt: r.CreatedAt.UTC(), UpdatedAt: utcPtr(r.UpdatedAt),
	}
}

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// refreshToken is the persisted shape of selfdb.refresh_tokens.
type refreshToken struct {
	bun.BaseModel `bun:"table:selfdb.refresh_tokens,alias:rt"`

	ID        uuid.UUID  `bun:"id,pk,type:uuid,default:gen_random_uuid()"`
	UserID    uuid.UUID  `bun:"user_id,type:uuid,notnull"`
	TokenHash []byte     `bun:"token_hash,notnull"`
	FamilyID  uuid.UUID  `bun:"family_id,type:uuid,notnull"`
	ExpiresAt time.Time  `bun:"expires_at,notnull"`
	CreatedAt time.Time  `bun:"created_at,notnull,default:now()"`
	RetiredAt *time.Time `bun:"retired_at"`
}
