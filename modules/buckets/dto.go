package buckets

import (
	"time"

	"github.com/google/uuid"
)

// Out is the Bucket of api.md §4.
type Out struct {
	ID              uuid.UUID  `json:"id"`
	Name            string     `json:"name"`
	Description     *string    `json:"description"`
	IsPublic        bool       `json:"is_public"`
	OwnerID         uuid.UUID  `json:"owner_id"`
	MinioBucketName string     `json:"minio_bucket_name"`
	CreatedAt       time.Time  `json:"created_at"`
	UpdatedAt       *time.Time `json:"updated_at"`
}

// OutWithStats is BucketWithStats of api.md §4.
type OutWithStats struct {
	Out
	FileCount int64 `json:"file_count"`
	TotalSize int64 `json:"total_size"`
}

// CreateRequest is POST /api/v1/buckets.
type CreateRequest struct {
	Name        *string `json:"name"`
	Description *string `json:"description"`
	IsPublic    *bool   `json:"is_public"`
}

// UpdateRequest is PUT /api/v1/buckets/{id}; nil fields stay as they are.
type UpdateRequest struct {
	Name        *string `json:"name"`
	Description *string `json:"description"`
	IsPublic    *bool   `json:"is_public"`
}

// ToOut renders a bucket on the wire.
func ToOut(b *Bucket) Out {
	o := Out{
		ID: b.ID, Name: b.Name, Description: b.Description, IsPublic: b.IsPublic,
		OwnerID: b.OwnerID, MinioBucketName: b.Name, CreatedAt: b.CreatedAt.UTC(),
	}
	if b.UpdatedAt != nil {
		t := b.UpdatedAt.UTC()
		o.UpdatedAt = &t
	}
	return o
}

func toOutWithStats(b *WithStats) OutWithStats {
	return OutWithStats{Out: ToOut(&b.Bucket), FileCount: b.FileCount, TotalSize: b.TotalSize}
}
