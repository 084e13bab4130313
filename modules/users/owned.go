package users

import (
	"context"

	"github.com/google/uuid"
	"go.uber.org/fx"
)

// OwnedData is implemented by modules that keep rows owned by a user
// (buckets, files, functions, ...). Service.Delete calls every OwnedData
// before deleting the user, so no foreign key blocks the delete.
type OwnedData interface {
	// DeleteUserData removes (or detaches) everything userID owns.
	DeleteUserData(ctx context.Context, userID uuid.UUID) error
}

// AsOwnedData annotates a constructor so that its result joins the
// "owned_data" value group Service.Delete calls.
func AsOwnedData(ctor any) any {
	return fx.Annotate(ctor, fx.As(new(OwnedData)), fx.ResultTags(`group:"owned_data"`))
}
