package files

import (
	"time"

	"github.com/google/uuid"
)

// Out is the File of api.md §5 (with the EXT checksum_sha256 and status).
type Out struct {
	ID             uuid.UUID  `json:"id"`
	Filename       string     `json:"filename"`
	ContentType    *string    `json:"content_type"`
	Size           int64      `json:"size"`
	BucketID       uuid.UUID  `json:"bucket_id"`
	BucketName     string     `json:"bucket_name"`
	ObjectName     string     `json:"object_name"`
	OwnerID        uuid.UUID  `json:"owner_id"`
	ChecksumSHA256 *string    `json:"checksum_sha256"`
	Status         string     `json:"status"`
	CreatedAt      time.Time  `json:"created_at"`
	UpdatedAt      *time.Time `json:"updated_at"`
}

// InitiateRequest is POST /api/v1/files/initiate-upload.
type InitiateRequest struct {
	Filename    *string `json:"filename"`
	ContentType *string `json:"content_type"`
	Size        *int64  `json:"size"`
	BucketID    *string `json:"bucket_id"`
}

// UploadInfo is the presigned_upload_info of initiate-upload.
type UploadInfo struct {
	UploadURL    string `json:"upload_url"`
	UploadMethod string `json:"upload_method"`
}

// InitiateResponse is initiate-upload's 201 body.
type InitiateResponse struct {
	FileMetadata        Out        `json:"file_metadata"`
	PresignedUploadInfo UploadInfo `json:"presigned_upload_info"`
}

// DownloadInfo is download-info's body.
type DownloadInfo struct {
	FileMetadata Out    `json:"file_metadata"`
	DownloadURL  string `json:"download_url"`
}

// ViewInfo is view-info's body.
type ViewInfo struct {
	FileMetadata Out    `json:"file_metadata"`
	ViewURL      string `json:"view_url"`
}

// UploadResponse is the byte upload's 201 body (api.md §5.1).
type UploadResponse struct {
	Filename    string  `json:"filename"`
	BucketName  string  `json:"bucket_name"`
	Size        int64   `json:"size"`
	ContentType *string `json:"content_type"`
	ObjectName  string  `json:"object_name"`
}

// ListEntry is one item of GET /files/list/{bucket}.
type ListEntry struct {
	Filename    string    `json:"filename"`
	ContentType *string   `json:"content_type"`
	Size        int64     `json:"size"`
	Bucket      string    `json:"bucket"`
	URL         string    `json:"url"`
	CreatedAt   time.Time `json:"created_at"`
}

func toOut(f *File, bucketName string) Out {
	o := Out{
		ID: f.ID, Filename: f.Filename, ContentType: f.ContentType, Size: f.Size,
		BucketID: f.BucketID, BucketName: bucketName, ObjectName: f.ObjectName, OwnerID: f.OwnerID,
		ChecksumSHA256: f.ChecksumSHA256, Status: f.Status, CreatedAt: f.CreatedAt.UTC(),
	}
	if f.UpdatedAt != nil {
		t := f.UpdatedAt.UTC()
		o.UpdatedAt = &t
	}
	return o
}
