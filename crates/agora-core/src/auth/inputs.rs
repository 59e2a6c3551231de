//! What the authentication endpoints read.
//!
//! Two kinds of input. The OAuth endpoints (token, revocation, introspection, sign-in) follow
//! RFC 6749: their parameters arrive as a form or a JSON object, unknown parameters are
//! ignored (OAuth clients send extras), and each parameter is a plain string — so their wire
//! types are flat structs of strings, deserialised from the parameters and then checked into a
//! domain input ([`Grant`], …). Key and client registration are ordinary JSON resources,
//! declared with [`input!`](crate::input!) like every other write.

use serde::Deserialize;
use serde_json::Value;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{AnyOfBuilder, ArrayBuilder, ObjectBuilder, Schema, Type};
use utoipa::{IntoParams, ToSchema};

use crate::actor::Scopes;
use crate::error::{DomainError, DomainResult, FieldError};
use crate::input::{FieldValue, invalid_type, json_str};
use crate::types::{string_value, text_newtype};

/// A required OAuth parameter: present and not empty.
fn required<'a>(name: &str, value: &'a str, missing: &mut Vec<FieldError>) -> &'a str {
    if value.is_empty() {
        missing.push(FieldError::new(name, "required", "is required"));
    }
    value
}

/// Client credentials sent in the body (`client_secret_post`), when both parts are.
fn posted_secret(client_id: &str, client_secret: &str) -> Option<ClientSecret> {
    (!client_id.is_empty() && !client_secret.is_empty())
        .then(|| ClientSecret { client_id: client_id.to_string(), client_secret: client_secret.to_string() })
}

/// A token parameter, required.
fn required_token(token: &str) -> DomainResult<&str> {
    let mut missing = Vec::new();
    let token = required("token", token, &mut missing);
    if missing.is_empty() { Ok(token) } else { Err(DomainError::validation(missing)) }
}

fn scope_param(raw: &str) -> DomainResult<Option<Scopes>> {
    if raw.trim().is_empty() {
        return Ok(None);
    }
    Scopes::parse(raw).map(Some).map_err(|m| DomainError::invalid_field("scope", "invalid_scope", m))
}

/// `POST /auth/token` (RFC 6749 §4): one of four grants, chosen by `grant_type`, as a form or
/// a JSON object. Which parameters a grant needs is said on each; unknown parameters are
/// ignored.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(default)]
pub struct TokenRequest {
    /// `password`, `refresh_token`, `client_credentials` or `authorization_code`.
    #[schema(example = "password")]
    pub grant_type: String,
    /// `password`: the account's email (or `username`).
    #[schema(example = "ada@example.com")]
    pub email: String,
    /// `password`: the OAuth name for `email`.
    pub username: String,
    /// `password`: the password.
    #[schema(format = Password, write_only)]
    pub password: String,
    /// `refresh_token`: the refresh token (`rt_…`); it works once.
    pub refresh_token: String,
    /// Space-separated scopes to narrow the token to (default: all the grant allows; more is
    /// 403 `FORBIDDEN`).
    #[schema(example = "read write")]
    pub scope: String,
    /// `client_credentials`, `authorization_code`: the client id, when not sent with HTTP Basic.
    pub client_id: String,
    /// `client_credentials`, `authorization_code`: the client secret, when not sent with HTTP Basic.
    #[schema(format = Password, write_only)]
    pub client_secret: String,
    /// `authorization_code`: the code from the `/oauth/authorize` redirect (single use, 60 s).
    pub code: String,
    /// `authorization_code`: exactly the `redirect_uri` used at `/oauth/authorize`.
    #[schema(example = "https://app.example/cb")]
    pub redirect_uri: String,
    /// `authorization_code`: the PKCE verifier whose S256 hash is the `code_challenge`.
    pub code_verifier: String,
}

/// A grant the token endpoint understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GrantType {
    /// Resource owner password.
    Password,
    /// Refresh token rotation.
    RefreshToken,
    /// A client acting for itself.
    ClientCredentials,
    /// Authorization code with PKCE.
    AuthorizationCode,
}

impl GrantType {
    /// Every grant.
    pub const ALL: [GrantType; 4] =
        [GrantType::Password, GrantType::RefreshToken, GrantType::ClientCredentials, GrantType::AuthorizationCode];

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            GrantType::Password => "password",
            GrantType::RefreshToken => "refresh_token",
            GrantType::ClientCredentials => "client_credentials",
            GrantType::AuthorizationCode => "authorization_code",
        }
    }

    /// The grants a client can be registered for: `password` is for the first-party sign-in
    /// only, never a client's.
    pub const REGISTRABLE: [GrantType; 3] =
        [GrantType::RefreshToken, GrantType::ClientCredentials, GrantType::AuthorizationCode];

    /// Parses a wire name.
    pub fn parse(s: &str) -> Option<GrantType> {
        GrantType::ALL.into_iter().find(|g| g.as_str() == s)
    }
}

/// As a field of a client registration: one of [`GrantType::REGISTRABLE`].
impl utoipa::PartialSchema for GrantType {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some(GrantType::REGISTRABLE.map(GrantType::as_str)))
            .description(Some("A grant a client may use."))
            .into()
    }
}

impl ToSchema for GrantType {}

impl FieldValue for GrantType {
    fn from_json(field: &str, value: &Value) -> Result<Self, FieldError> {
        let s = json_str(field, value)?;
        GrantType::parse(s)
            .filter(|g| GrantType::REGISTRABLE.contains(g))
            .ok_or_else(|| FieldError::new(field, "invalid_value", format!("unsupported grant type `{s}`")))
    }
}

/// A checked token request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Grant {
    /// Email and password.
    Password {
        /// Email (not yet parsed: an unknown or malformed one fails like a wrong password).
        email: String,
        /// Password.
        password: String,
        /// Scopes asked for.
        scope: Option<Scopes>,
    },
    /// Refresh token rotation.
    RefreshToken {
        /// The token.
        refresh_token: String,
        /// Scopes asked for.
        scope: Option<Scopes>,
    },
    /// The client acting for itself.
    ClientCredentials {
        /// Scopes asked for.
        scope: Option<Scopes>,
    },
    /// Code exchange.
    AuthorizationCode {
        /// The code.
        code: String,
        /// The redirect URI it was issued for.
        redirect_uri: String,
        /// The PKCE verifier.
        code_verifier: String,
        /// The client, when it does not authenticate.
        client_id: String,
    },
}

impl Grant {
    /// Which grant this is.
    pub fn grant_type(&self) -> GrantType {
        match self {
            Grant::Password { .. } => GrantType::Password,
            Grant::RefreshToken { .. } => GrantType::RefreshToken,
            Grant::ClientCredentials { .. } => GrantType::ClientCredentials,
            Grant::AuthorizationCode { .. } => GrantType::AuthorizationCode,
        }
    }
}

impl TokenRequest {
    /// Client credentials sent in the body (`client_secret_post`).
    pub fn client_secret(&self) -> Option<ClientSecret> {
        posted_secret(&self.client_id, &self.client_secret)
    }

    /// Checks the request into a [`Grant`]: an unknown grant is 400 `UNSUPPORTED_GRANT_TYPE`,
    /// missing parameters one 422 naming each. `authenticated_client` says whether the client
    /// authenticated (then `client_id` is not needed for a code exchange).
    pub fn grant(&self, authenticated_client: bool) -> DomainResult<Grant> {
        let mut missing = Vec::new();
        let grant_type = required("grant_type", &self.grant_type, &mut missing);
        if !missing.is_empty() {
            return Err(DomainError::validation(missing));
        }
        let grant = match GrantType::parse(grant_type) {
            Some(GrantType::Password) => {
                let email = if self.email.is_empty() { &self.username } else { &self.email };
                let email = required("email", email, &mut missing).to_string();
                let password = required("password", &self.password, &mut missing).to_string();
                Grant::Password { email, password, scope: None }
            }
            Some(GrantType::RefreshToken) => Grant::RefreshToken {
                refresh_token: required("refresh_token", &self.refresh_token, &mut missing).to_string(),
                scope: None,
            },
            Some(GrantType::ClientCredentials) => Grant::ClientCredentials { scope: None },
            Some(GrantType::AuthorizationCode) => Grant::AuthorizationCode {
                code: required("code", &self.code, &mut missing).to_string(),
                redirect_uri: required("redirect_uri", &self.redirect_uri, &mut missing).to_string(),
                code_verifier: required("code_verifier", &self.code_verifier, &mut missing).to_string(),
                client_id: self.client_id.clone(),
            },
            None => {
                return Err(DomainError::new(
                    crate::ErrorCode::UnsupportedGrantType,
                    format!(
                        "grant_type `{grant_type}` is not supported; use password, refresh_token, client_credentials or authorization_code."
                    ),
                ));
            }
        };
        if !missing.is_empty() {
            return Err(DomainError::validation(missing));
        }
        // A code exchange needs a client: authenticated (a confidential client), or named by
        // `client_id` (a public one). Neither is a failed client authentication (RFC 6749
        // §5.2 `invalid_client`), not a malformed request.
        if let Grant::AuthorizationCode { client_id, .. } = &grant
            && client_id.is_empty()
            && !authenticated_client
        {
            return Err(DomainError::unauthenticated(
                "Client authentication failed: send the client's credentials with HTTP Basic, or its `client_id`.",
            ));
        }
        let scope = scope_param(&self.scope)?;
        Ok(match grant {
            Grant::Password { email, password, .. } => Grant::Password { email, password, scope },
            Grant::RefreshToken { refresh_token, .. } => Grant::RefreshToken { refresh_token, scope },
            Grant::ClientCredentials { .. } => Grant::ClientCredentials { scope },
            code => code,
        })
    }
}

/// A non-empty string property, as a JSON Schema fragment.
fn non_empty() -> Value {
    serde_json::json!({ "minLength": 1 })
}

impl TokenRequest {
    /// What [`TokenRequest::grant`] requires beyond each parameter's own schema, as JSON Schema
    /// (one `anyOf` branch per grant, and the `scope` syntax). The OpenAPI document adds it to
    /// this type's schema so that the document says what the parser enforces; it sits here,
    /// next to the parser it mirrors.
    pub fn schema_conditions() -> Value {
        let grant = |g: GrantType| serde_json::json!({ "const": g.as_str() });
        serde_json::json!({
            "properties": { "scope": { "pattern": Scopes::LIST_PATTERN } },
            "anyOf": [
                {
                    "properties": { "grant_type": grant(GrantType::Password), "password": non_empty() },
                    "required": ["grant_type", "password"],
                    "anyOf": [
                        { "properties": { "email": non_empty() }, "required": ["email"] },
                        { "properties": { "username": non_empty() }, "required": ["username"] },
                    ],
                },
                {
                    "properties": { "grant_type": grant(GrantType::RefreshToken), "refresh_token": non_empty() },
                    "required": ["grant_type", "refresh_token"],
                },
                {
                    "properties": { "grant_type": grant(GrantType::ClientCredentials) },
                    "required": ["grant_type"],
                },
                {
                    "properties": {
                        "grant_type": grant(GrantType::AuthorizationCode),
                        "code": non_empty(),
                        "redirect_uri": non_empty(),
                        "code_verifier": non_empty(),
                    },
                    "required": ["grant_type", "code", "redirect_uri", "code_verifier"],
                },
            ],
        })
    }
}

impl NewOAuthClient {
    /// The grants, with their default, and the redirect URIs: at least one grant, and a
    /// redirect URI when the client may use `authorization_code`.
    pub fn grants_and_redirects(&self) -> DomainResult<(Vec<GrantType>, Vec<String>)> {
        let grant_types =
            self.grant_types.clone().unwrap_or_else(|| vec![GrantType::AuthorizationCode, GrantType::RefreshToken]);
        let redirect_uris: Vec<String> = self.redirect_uris.iter().flatten().map(|u| u.clone().into_inner()).collect();
        let mut errors = Vec::new();
        if grant_types.is_empty() {
            errors.push(FieldError::new("grant_types", "required", "name at least one grant type"));
        }
        if grant_types.contains(&GrantType::AuthorizationCode) && redirect_uris.is_empty() {
            errors.push(FieldError::new("redirect_uris", "required", "authorization_code clients need a redirect URI"));
        }
        if errors.is_empty() { Ok((grant_types, redirect_uris)) } else { Err(DomainError::validation(errors)) }
    }

    /// What [`NewOAuthClient::grants_and_redirects`] requires beyond each field's own schema,
    /// as JSON Schema, for the OpenAPI document: `grant_types`, when given, is not empty, and
    /// `redirect_uris` is not empty unless `grant_types` is given without
    /// `authorization_code`.
    pub fn schema_conditions() -> Value {
        serde_json::json!({
            "properties": { "grant_types": { "minItems": 1 } },
            "anyOf": [
                { "properties": { "redirect_uris": { "minItems": 1 } }, "required": ["redirect_uris"] },
                {
                    "properties": {
                        "grant_types": { "not": { "contains": { "const": GrantType::AuthorizationCode.as_str() } } },
                    },
                    "required": ["grant_types"],
                },
            ],
        })
    }
}

/// An OAuth client's id and secret, from HTTP Basic or the body.
#[derive(Clone, PartialEq, Eq)]
pub struct ClientSecret {
    /// The client id.
    pub client_id: String,
    /// The secret.
    pub client_secret: String,
}

impl std::fmt::Debug for ClientSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientSecret").field("client_id", &self.client_id).finish_non_exhaustive()
    }
}

/// `POST /auth/revoke` (RFC 7009), as a form or a JSON object.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(default)]
pub struct RevokeRequest {
    /// An access token (refused from now on, until it would have expired) or a refresh token
    /// (its whole family is revoked).
    #[schema(required = true, min_length = 1)]
    pub token: String,
    /// `access_token` or `refresh_token`; a hint, not needed.
    pub token_type_hint: String,
}

impl RevokeRequest {
    /// The token, required.
    pub fn token(&self) -> DomainResult<&str> {
        required_token(&self.token)
    }
}

/// `POST /auth/introspect` (RFC 7662), as a form or a JSON object. The client authenticates
/// with HTTP Basic or with `client_id` and `client_secret` here.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(default)]
pub struct IntrospectRequest {
    /// The access token to inspect.
    #[schema(required = true, min_length = 1)]
    pub token: String,
    /// `access_token`; a hint, not needed.
    pub token_type_hint: String,
    /// The client id, when not sent with HTTP Basic.
    pub client_id: String,
    /// The client secret, when not sent with HTTP Basic.
    #[schema(format = Password, write_only)]
    pub client_secret: String,
}

impl IntrospectRequest {
    /// Client credentials sent in the body.
    pub fn client_secret(&self) -> Option<ClientSecret> {
        posted_secret(&self.client_id, &self.client_secret)
    }

    /// The token, required.
    pub fn token(&self) -> DomainResult<&str> {
        required_token(&self.token)
    }
}

/// `POST /auth/session`: password sign-in for browsers, as a form or a JSON object.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(default)]
pub struct SignIn {
    /// The account's email.
    #[schema(required = true, min_length = 1, example = "ada@example.com")]
    pub email: String,
    /// The password.
    #[schema(required = true, min_length = 1, format = Password, write_only)]
    pub password: String,
}

impl SignIn {
    /// Both fields, required.
    pub fn checked(&self) -> DomainResult<(&str, &str)> {
        let mut missing = Vec::new();
        let email = required("email", &self.email, &mut missing);
        let password = required("password", &self.password, &mut missing);
        if missing.is_empty() { Ok((email, password)) } else { Err(DomainError::validation(missing)) }
    }
}

impl FieldValue for Scopes {
    /// A non-empty JSON array of scope names, or one string of them separated by spaces or
    /// commas (as OAuth's `scope` spells them); at least one either way.
    fn from_json(field: &str, value: &Value) -> Result<Self, FieldError> {
        let unknown = |name: &str| {
            FieldError::new(field, "invalid_scope", format!("unknown scope `{name}`; allowed: read, write, admin"))
        };
        let scopes = match value {
            Value::Array(items) => items.iter().try_fold(Scopes::NONE, |all, item| {
                let name = json_str(field, item)?;
                match Scopes::parse(name) {
                    Ok(one) if one.names() == [name] => Ok(all.union(one)),
                    _ => Err(unknown(name)),
                }
            })?,
            Value::String(s) => Scopes::parse(s).map_err(|m| FieldError::new(field, "invalid_scope", m))?,
            _ => return Err(invalid_type(field, "an array of scope names")),
        };
        if scopes == Scopes::NONE {
            return Err(FieldError::new(field, "required", "name at least one scope"));
        }
        Ok(scopes)
    }
}

impl utoipa::PartialSchema for Scopes {
    fn schema() -> RefOr<Schema> {
        let names = ["read", "write", "admin"];
        AnyOfBuilder::new()
            .item(
                ArrayBuilder::new()
                    .items(ObjectBuilder::new().schema_type(Type::String).enum_values(Some(names)))
                    .min_items(Some(1)),
            )
            .item(ObjectBuilder::new().schema_type(Type::String).pattern(Some(Scopes::NON_EMPTY_LIST_PATTERN)))
            .description(Some(
                "Scopes, at least one: an array of `read`, `write`, `admin`, or one string of them separated \
                 by spaces or commas.",
            ))
            .into()
    }
}

impl utoipa::ToSchema for Scopes {}

/// A list: a JSON array (the schema utoipa derives for `Vec<T>` says exactly this).
impl<T: FieldValue> FieldValue for Vec<T> {
    fn from_json(field: &str, value: &Value) -> Result<Self, FieldError> {
        match value {
            Value::Array(items) => items.iter().map(|v| T::from_json(field, v)).collect(),
            _ => Err(invalid_type(field, "an array")),
        }
    }
}

text_newtype!(
    /// An API key's label: 1–100 characters after trimming.
    ApiKeyName, "name", 1, 100, trim = true, "A label, 1–100 characters after trimming."
);
text_newtype!(
    /// An OAuth client's display name: 1–100 characters after trimming.
    ClientName, "name", 1, 100, trim = true, "A display name (shown on the consent page), 1–100 characters."
);

/// A redirect URI: absolute `http(s)`, no fragment, at most 2,000 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedirectUri(String);

impl RedirectUri {
    /// Validates the form.
    pub fn parse(u: &str) -> Result<Self, FieldError> {
        let ok = (u.starts_with("https://") || u.starts_with("http://")) && !u.contains('#') && u.len() <= 2000;
        if !ok {
            return Err(FieldError::new(
                "redirect_uris",
                "invalid_format",
                format!("`{u}` must be an absolute http(s) URI without a fragment"),
            ));
        }
        Ok(Self(u.to_string()))
    }

    /// The URI.
    pub fn into_inner(self) -> String {
        self.0
    }
}

string_value!(
    RedirectUri,
    ObjectBuilder::new()
        .format(Some(utoipa::openapi::SchemaFormat::Custom("uri".into())))
        .max_length(Some(2000))
        .description(Some("An absolute http(s) URI without a fragment, matched exactly."))
);

crate::input! {
    /// `POST /api-keys`: a new key for the caller, with at most the scopes of the caller's
    /// credential.
    #[derive(Debug, Clone)]
    pub struct NewApiKey {
        /// A label.
        pub name: ApiKeyName,
        /// The key's scopes; default `["read"]`. At least one.
        #[schema(nullable = false)]
        pub scopes: Option<Scopes>,
    }
}

crate::input! {
    /// `POST /oauth/clients` (administrators): a client registration.
    #[derive(Debug, Clone)]
    pub struct NewOAuthClient {
        /// Display name.
        pub name: ClientName,
        /// Redirect URIs, matched exactly at `/oauth/authorize`; required for
        /// `authorization_code`.
        #[schema(nullable = false)]
        pub redirect_uris: Option<Vec<RedirectUri>>,
        /// Grants the client may use; default `authorization_code` and `refresh_token`.
        #[schema(nullable = false)]
        pub grant_types: Option<Vec<GrantType>>,
        /// The most the client's tokens may carry; default `["read"]`.
        #[schema(nullable = false)]
        pub scopes: Option<Scopes>,
    }
}

/// The authorization request of `/oauth/authorize` (RFC 6749 §4.1.1 with PKCE, RFC 7636): the
/// page's query string, and the hidden inputs of its form.
#[derive(Debug, Clone, Default, Deserialize, ToSchema, IntoParams)]
#[serde(default)]
#[into_params(parameter_in = Query)]
pub struct AuthorizeParams {
    /// `code` (the only response type); anything else is redirected back with
    /// `error=unsupported_response_type`.
    #[schema(required = true, example = "code")]
    #[param(required = true, example = "code")]
    pub response_type: String,
    /// A registered client allowed the `authorization_code` grant; an unknown client gets an
    /// error page, never a redirect.
    #[schema(required = true)]
    #[param(required = true, example = "cl_4V7Kq9Zr2Xb8Wd3Jh6Tn")]
    pub client_id: String,
    /// One of the client's registered redirect URIs, exactly; anything else gets an error
    /// page, never a redirect.
    #[schema(required = true)]
    #[param(required = true, example = "https://app.example/cb")]
    pub redirect_uri: String,
    /// Space-separated scopes (default: the client's); more than the client may have is
    /// redirected back with `error=invalid_scope`. The token gets at most what the user's role
    /// allows.
    #[param(example = "read write")]
    pub scope: String,
    /// Opaque value returned unchanged in the redirect (CSRF protection for the client).
    pub state: String,
    /// PKCE: base64url(SHA-256(code_verifier)), 43 characters; missing or short is redirected
    /// back with `error=invalid_request`.
    #[schema(required = true)]
    #[param(required = true, example = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM")]
    pub code_challenge: String,
    /// `S256` (required; `plain` is refused with `error=invalid_request`).
    #[schema(required = true, example = "S256")]
    #[param(required = true, example = "S256")]
    pub code_challenge_method: String,
}

impl AuthorizeParams {
    /// The parameters with their names, to carry them through the sign-in form.
    pub fn pairs(&self) -> [(&'static str, &str); 7] {
        [
            ("response_type", &self.response_type),
            ("client_id", &self.client_id),
            ("redirect_uri", &self.redirect_uri),
            ("scope", &self.scope),
            ("state", &self.state),
            ("code_challenge", &self.code_challenge),
            ("code_challenge_method", &self.code_challenge_method),
        ]
    }
}

/// `POST /oauth/authorize`: the sign-in form of the authorize page — the authorization
/// request (carried as hidden inputs) and the user's email and password.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct AuthorizeForm {
    /// The authorization request.
    #[serde(flatten)]
    pub request: AuthorizeParams,
    /// The user's email.
    #[serde(default)]
    #[schema(example = "ada@example.com")]
    pub email: String,
    /// The user's password.
    #[serde(default)]
    #[schema(format = Password, write_only)]
    pub password: String,
}
