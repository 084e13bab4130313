package auth

// loginJSON is the JSON form of POST /auth/login (EXT).
type loginJSON struct {
	Email     *string `json:"email"`
	Username  *string `json:"username" doc:"The email, when email is absent."`
	Password  *string `json:"password"`
	GrantType *string `json:"grant_type" doc:"password, when sent."`
}

// LoginForm is the OAuth2 password form of POST /auth/login
// (urlencoded or multipart), which login reads field by field.
type LoginForm struct {
	Username     string `json:"username" doc:"The account's email."`
	Password     string `json:"password"`
	GrantType    string `json:"grant_type,omitempty" doc:"password, when sent."`
	Scope        string `json:"scope,omitempty" doc:"Accepted and ignored."`
	ClientID     string `json:"client_id,omitempty" doc:"Accepted and ignored."`
	ClientSecret string `json:"client_secret,omitempty" doc:"Accepted and ignored."`
}

// LoginResponse is POST /auth/login's answer.
type LoginResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	RefreshToken string `json:"refresh_token"`
	IsSuperuser  bool   `json:"is_superuser"`
	Email        string `json:"email"`
	UserID       string `json:"user_id"`
}

// RegisterRequest is POST /auth/register's body; is_superuser and is_active
// are deliberately not fields (they are ignored).
type RegisterRequest struct {
	Email    *string `json:"email"`
	Password *string `json:"password"`
	FullName *string `json:"full_name"`
}

// refreshRequest is the body of /auth/refresh and /auth/logout.
type refreshRequest struct {
	RefreshToken *string `json:"refresh_token"`
}

// RefreshResponse is POST /auth/refresh's answer; RefreshToken is set only
// when rotation is on.
type RefreshResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	RefreshToken string `json:"refresh_token,omitempty"`
}

// NewUser is an account to create (registration, superuser creation).
type NewUser struct {
	Email       string
	Password    string
	FullName    *string
	IsActive    bool
	IsSuperuser bool
}
