package files

import (
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"
)

// Upload states of a file row.
const (
	StatusPending = "pending"
	StatusReady   = "ready"
)

// File is a persisted file row; it is also the cached shape. Size is the
// bytes stored once ready and, while pending, the size declared at
// initiate-upload (0 when none); DeclaredSize is that declaration (nil when
// none), which the upload's length must then equal.
type File struct {
	bun.BaseModel `bun:"table:selfdb.files,alias:f"`

	ID              uuid.UUID  `bun:"id,pk,type:uuid" json:"id"`
	BucketID        uuid.UUID  `bun:"bucket_id,type:uuid,notnull" json:"bucket_id"`
	ObjectName      string     `bun:"object_name,notnull" json:"object_name"`
	Filename        string     `bun:"filename,notnull" json:"filename"`
	ContentType     *string    `bun:"content_type" json:"content_type"`
	Size            int64      `bun:"size,notnull" json:"size"`
	DeclaredSize    *int64     `bun:"declared_size" json:"declared_size"`
	ChecksumSHA256  *string    `bun:"checksum_sha256" json:"checksum_sha256"`
	Status          string     `bun:"status,notnull" json:"status"`
	OwnerID         uuid.UUID  `bun:"owner_id,type:uuid,notnull" json:"owner_id"`
	UploadExpiresAt time.Time  `bun:"upload_expires_at,notnull" json:"upload_expires_at"`
	CreatedAt       time.Time  `bun:"created_at,notnull" json:"created_at"`
	UpdatedAt       *time.Time `bun:"updated_at" json:"updated_at"`
}
