//! Security schemes (`components.securitySchemes`): the ways to present a credential.
//! Credentials are resolved once, in [`crate::auth`]; handlers declare which they accept in
//! `#[utoipa::path(security(...))]`.

use std::collections::BTreeMap;

use utoipa::openapi::RefOr;
use utoipa::openapi::security::{
    ApiKey, ApiKeyValue, AuthorizationCode, ClientCredentials, Flow, Http, HttpAuthScheme, OAuth2, Password, Scopes,
    SecurityScheme,
};

/// Scheme names.
pub mod names {
    /// `Authorization: Bearer <JWT>`.
    pub const BEARER: &str = "bearerAuth";
    /// `X-API-Key: agora_…` (or `Authorization: ApiKey agora_…`).
    pub const API_KEY: &str = "apiKeyHeader";
    /// The `agora_session` cookie (plus `X-CSRF-Token` on unsafe methods).
    pub const SESSION: &str = "sessionCookie";
    /// OAuth 2.0 (the flows that produce bearer tokens).
    pub const OAUTH2: &str = "oauth2";
    /// OAuth client authentication with HTTP Basic (`client_id:client_secret`).
    pub const CLIENT_BASIC: &str = "clientBasic";
}

/// The scopes tokens and keys carry, with what they allow.
pub const SCOPES: [(&str, &str); 3] = [
    ("read", "Read resources (reads are public; the scope matters for what a token may be narrowed to)."),
    ("write", "Create, change and delete resources — every write needs it."),
    ("admin", "Administrative operations (products, OAuth clients, `role`); effective only with the admin role."),
];

/// Where the token endpoint is (v2, the current version).
pub const TOKEN_URL: &str = "/v2/auth/token";
/// Where the authorization (login and consent) page is.
pub const AUTHORIZATION_URL: &str = "/oauth/authorize";

fn scopes() -> Scopes {
    Scopes::from_iter(SCOPES)
}

/// Every security scheme, for `components.securitySchemes`.
pub fn security_schemes() -> BTreeMap<String, RefOr<SecurityScheme>> {
    let mut bearer = Http::new(HttpAuthScheme::Bearer);
    bearer.bearer_format = Some("JWT".into());
    bearer.description = Some(
        "An access token from `POST /v2/auth/token` (any grant) in `Authorization: Bearer <token>`: a JWT \
         (`typ: at+jwt`, HS256 or EdDSA — public keys at `/.well-known/jwks.json`) with claims `sub`, \
         `iat`, `nbf`, `exp`, `jti`, `iss`, `aud`, `scope` and `role`. Expired, revoked, tampered or \
         wrong-issuer/audience tokens are 401 with `WWW-Authenticate: Bearer error=\"invalid_token\"`."
            .into(),
    );

    let api_key = ApiKeyValue::with_description(
        "X-API-Key",
        "An API key from `POST /v2/api-keys` (`agora_<prefix>_<secret>`), scoped and revocable. \
         `Authorization: ApiKey agora_…` is accepted too. An unknown or revoked key is 401 with \
         `WWW-Authenticate: ApiKey realm=\"agora\"`.",
    );

    let session = ApiKeyValue::with_description(
        "agora_session",
        "The session cookie set by `POST /v2/auth/session` (`HttpOnly; Secure; SameSite=Lax; Path=/`). \
         **CSRF rule:** every unsafe request (POST, PUT, PATCH, DELETE) that carries the cookie must \
         also send the session's `csrf_token` (from the sign-in response) in the `X-CSRF-Token` \
         header, or it is refused with 403 `CSRF_FAILED` — even where no credential is needed. A \
         session carries the scopes of the user's role. An expired or ended session is 401.",
    );

    let client_basic = {
        let mut h = Http::new(HttpAuthScheme::Basic);
        h.description = Some(
            "OAuth client authentication (`client_secret_basic`): `Authorization: Basic \
             base64(client_id:client_secret)`, with the credentials from `POST /v2/oauth/clients`. The \
             token and introspection endpoints also accept `client_id` and `client_secret` in the body \
             (`client_secret_post`). A failure is 401 with `WWW-Authenticate: Basic realm=\"agora\"`."
                .into(),
        );
        h
    };

    let oauth2 = OAuth2::with_description(
        [
            Flow::AuthorizationCode(AuthorizationCode::with_refresh_url(
                AUTHORIZATION_URL,
                TOKEN_URL,
                scopes(),
                TOKEN_URL,
            )),
            Flow::ClientCredentials(ClientCredentials::new(TOKEN_URL, scopes())),
            Flow::Password(Password::with_refresh_url(TOKEN_URL, scopes(), TOKEN_URL)),
        ],
        "OAuth 2.0 with Agora as the authorization server (metadata at \
         `/.well-known/oauth-authorization-server`). Authorization code requires PKCE with `S256`; \
         refresh tokens rotate (each works once, reuse revokes the family). Every token endpoint \
         exists under `/v1` and `/v2`. The resulting access token is sent as `Authorization: Bearer`.",
    );

    [
        (names::BEARER, SecurityScheme::Http(bearer)),
        (names::API_KEY, SecurityScheme::ApiKey(ApiKey::Header(api_key))),
        (names::SESSION, SecurityScheme::ApiKey(ApiKey::Cookie(session))),
        (names::OAUTH2, SecurityScheme::OAuth2(oauth2)),
        (names::CLIENT_BASIC, SecurityScheme::Http(client_basic)),
    ]
    .into_iter()
    .map(|(name, scheme)| (name.to_string(), RefOr::T(scheme)))
    .collect()
}

/// The name handlers use in `security(...)` for "a user credential": the document expands it
/// into every scheme in [`USER_SCHEMES`], with the same scopes. Handlers write
/// `security((), ("user" = []))` for an optional credential, `security(("user" = ["write"]))`
/// for a writer.
pub const USER: &str = "user";

/// The schemes a user credential can be presented with, in the order operations list them.
pub const USER_SCHEMES: [&str; 4] = [names::BEARER, names::API_KEY, names::SESSION, names::OAUTH2];
