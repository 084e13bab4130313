package buckets

import (
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"
)

// Bucket is a persisted bucket; it is also the cached shape.
type Bucket struct {
	bun.BaseModel `bun:"table:selfdb.buckets,alias:b"`

	ID          uuid.UUID  `bun:"id,pk,type:uuid" json:"id"`
	Name        string     `bun:"name,notnull" json:"name"`
	Description *string    `bun:"description" json:"description"`
	IsPublic    bool       `bun:"is_public,notnull" json:"is_public"`
	OwnerID     uuid.UUID  `bun:"owner_id,type:uuid,notnull" json:"owner_id"`
	CreatedAt   time.Time  `bun:"created_at,notnull" json:"created_at"`
	UpdatedAt   *time.Time `bun:"updated_at" json:"updated_at"`
}

// WithStats is a bucket with the aggregate of its ready files.
type WithStats struct {
	Bucket    `bun:",extend"`
	FileCount int64 `bun:"file_count"`
	TotalSize int64 `bun:"total_size"`
}
