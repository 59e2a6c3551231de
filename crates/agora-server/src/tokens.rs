//! Access tokens: JWTs signed with HS256 (a shared secret) or EdDSA (a private key file, with
//! the public key published at `/.well-known/jwks.json`).
//!
//! Verification follows RFC 8725: the algorithm is fixed by configuration (a token naming
//! another — `none`, or HS256 "signed" with our public key — is refused before any signature
//! check), `typ` must be `at+jwt`, and `exp`, `iss`, `aud`, `sub` are required, with 30 s of
//! clock skew allowed.

use std::collections::HashSet;
use std::time::Duration;

use agora_core::DomainError;
use agora_core::actor::Scopes;
use agora_core::auth::{Claims, TokenSigner};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::Utc;
use ed25519_dalek::pkcs8::DecodePrivateKey;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::Serialize;
use utoipa::ToSchema;

/// Why a token was refused (all map to 401 `invalid_token`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid token: {0}")]
pub struct TokenError(pub String);

/// A public signing key (RFC 7517), Ed25519.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Jwk {
    /// `OKP`.
    #[schema(example = "OKP")]
    pub kty: String,
    /// `Ed25519`.
    #[schema(example = "Ed25519")]
    pub crv: String,
    /// The public key, base64url.
    pub x: String,
    /// Key id, named in tokens' `kid` header.
    pub kid: String,
    /// `EdDSA`.
    #[schema(example = "EdDSA")]
    pub alg: String,
    /// `sig`.
    #[serde(rename = "use")]
    #[schema(example = "sig")]
    pub key_use: String,
}

/// `GET /.well-known/jwks.json` (RFC 7517): the keys that verify access tokens. Empty when
/// tokens are HS256 (a shared secret is never published).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Jwks {
    /// The keys.
    pub keys: Vec<Jwk>,
}

/// Signing and verification keys plus the claim expectations.
#[derive(Clone)]
pub struct TokenKeys {
    alg: Algorithm,
    encoding: EncodingKey,
    decoding: DecodingKey,
    kid: String,
    jwk: Option<Jwk>,
    issuer: String,
    audience: String,
    ttl: Duration,
}

impl std::fmt::Debug for TokenKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenKeys").field("alg", &self.alg).field("kid", &self.kid).finish()
    }
}

impl TokenKeys {
    /// HS256 with a shared secret.
    pub fn hs256(secret: &[u8], issuer: &str, audience: &str, ttl: Duration) -> Self {
        let kid = hex::encode(&sha2_256(secret)[..8]);
        Self {
            alg: Algorithm::HS256,
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            kid,
            jwk: None,
            issuer: issuer.into(),
            audience: audience.into(),
            ttl,
        }
    }

    /// EdDSA (Ed25519) from a PKCS#8 PEM private key.
    pub fn eddsa_pem(pem: &str, issuer: &str, audience: &str, ttl: Duration) -> Result<Self, String> {
        let signing = ed25519_dalek::SigningKey::from_pkcs8_pem(pem).map_err(|e| {
            format!(
                "only Ed25519 keys are supported, as PKCS#8 PEM (`openssl genpkey -algorithm ed25519`); \
                 this file is not one ({e})"
            )
        })?;
        let public = signing.verifying_key().to_bytes();
        let x = URL_SAFE_NO_PAD.encode(public);
        let kid = hex::encode(&sha2_256(&public)[..8]);
        let encoding = EncodingKey::from_ed_pem(pem.as_bytes()).map_err(|e| format!("cannot load signing key: {e}"))?;
        let decoding = DecodingKey::from_ed_components(&x).map_err(|e| format!("cannot derive public key: {e}"))?;
        let jwk = Jwk {
            kty: "OKP".into(),
            crv: "Ed25519".into(),
            x,
            kid: kid.clone(),
            alg: "EdDSA".into(),
            key_use: "sig".into(),
        };
        Ok(Self {
            alg: Algorithm::EdDSA,
            encoding,
            decoding,
            kid,
            jwk: Some(jwk),
            issuer: issuer.into(),
            audience: audience.into(),
            ttl,
        })
    }

    /// Access-token lifetime.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// The JWKS document (empty for HS256: a shared secret is never published).
    pub fn jwks(&self) -> Jwks {
        Jwks { keys: self.jwk.iter().cloned().collect() }
    }

    /// Issues a token; returns it with its claims.
    pub fn issue(
        &self,
        sub: String,
        scopes: Scopes,
        role: Option<&str>,
        client_id: Option<&str>,
    ) -> Result<(String, Claims), TokenError> {
        let now = Utc::now().timestamp();
        let claims = Claims {
            sub,
            iat: now,
            nbf: now,
            exp: now + self.ttl.as_secs() as i64,
            jti: uuid::Uuid::new_v4().simple().to_string(),
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            scope: scopes.to_scope_string(),
            role: role.map(str::to_string),
            client_id: client_id.map(str::to_string),
        };
        let mut header = Header::new(self.alg);
        header.typ = Some("at+jwt".into());
        header.kid = Some(self.kid.clone());
        let token = jsonwebtoken::encode(&header, &claims, &self.encoding).map_err(|e| TokenError(e.to_string()))?;
        Ok((token, claims))
    }

    fn validation(&self, check_exp: bool) -> Validation {
        let mut v = Validation::new(self.alg);
        v.algorithms = vec![self.alg];
        v.leeway = 30;
        v.validate_exp = check_exp;
        v.validate_nbf = true;
        v.set_issuer(&[self.issuer.as_str()]);
        v.set_audience(&[self.audience.as_str()]);
        v.required_spec_claims = ["exp", "iss", "aud", "sub"].iter().map(|s| s.to_string()).collect::<HashSet<_>>();
        v
    }

    /// Verifies signature, algorithm, type and claims.
    pub fn verify(&self, token: &str) -> Result<Claims, TokenError> {
        self.verify_inner(token, true)
    }

    /// Verifies everything except expiry (revoking an expired token is a harmless no-op, and
    /// introspection reports it inactive).
    pub fn verify_ignoring_expiry(&self, token: &str) -> Result<Claims, TokenError> {
        self.verify_inner(token, false)
    }

    fn verify_inner(&self, token: &str, check_exp: bool) -> Result<Claims, TokenError> {
        if token.len() > 8192 {
            return Err(TokenError("token too long".into()));
        }
        let header = jsonwebtoken::decode_header(token).map_err(|e| TokenError(e.to_string()))?;
        if header.alg != self.alg {
            return Err(TokenError("unexpected algorithm".into()));
        }
        if header.typ.as_deref().map(|t| t.eq_ignore_ascii_case("at+jwt")) != Some(true) {
            return Err(TokenError("unexpected token type".into()));
        }
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation(check_exp))
            .map_err(|e| TokenError(e.to_string()))?;
        Ok(data.claims)
    }
}

impl TokenSigner for TokenKeys {
    fn issue(
        &self,
        sub: String,
        scopes: Scopes,
        role: Option<&str>,
        client_id: Option<&str>,
    ) -> agora_core::DomainResult<(String, Claims)> {
        TokenKeys::issue(self, sub, scopes, role, client_id).map_err(|e| DomainError::internal(e.to_string()))
    }

    fn verify(&self, token: &str, check_expiry: bool) -> Result<Claims, String> {
        let r = if check_expiry { TokenKeys::verify(self, token) } else { self.verify_ignoring_expiry(token) };
        r.map_err(|e| {
            tracing::debug!(error = %e, "access token refused");
            e.to_string()
        })
    }

    fn ttl(&self) -> Duration {
        self.ttl
    }
}

fn sha2_256(b: &[u8]) -> Vec<u8> {
    use sha2::Digest;
    sha2::Sha256::digest(b).to_vec()
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::*;

    fn keys() -> TokenKeys {
        TokenKeys::hs256(b"secret", "agora", "agora-api", Duration::from_secs(900))
    }

    fn forge(header: &str, payload: &Value, sig: &str) -> String {
        format!("{}.{}.{}", URL_SAFE_NO_PAD.encode(header), URL_SAFE_NO_PAD.encode(payload.to_string()), sig)
    }

    #[test]
    fn roundtrip() {
        let (t, c) = keys().issue("user:1".into(), Scopes::ALL, Some("admin"), None).expect("issue");
        assert_eq!(keys().verify(&t), Ok(c));
    }

    #[test]
    fn refuses_alg_none_in_every_spelling() {
        let (_, c) = keys().issue("user:1".into(), Scopes::ALL, None, None).expect("issue");
        let payload = serde_json::to_value(&c).expect("json");
        for alg in ["none", "None", "NONE", "nOnE"] {
            let t = forge(&format!("{{\"alg\":\"{alg}\",\"typ\":\"at+jwt\"}}"), &payload, "");
            assert!(keys().verify(&t).is_err(), "{alg}");
        }
    }

    #[test]
    fn refuses_tampering_wrong_issuer_audience_type() {
        let k = keys();
        let (t, c) = k.issue("user:1".into(), Scopes::READ, None, None).expect("issue");
        let parts: Vec<&str> = t.split('.').collect();
        let mut c2 = c.clone();
        c2.scope = "read write admin".into();
        let tampered =
            format!("{}.{}.{}", parts[0], URL_SAFE_NO_PAD.encode(serde_json::to_string(&c2).expect("json")), parts[2]);
        assert!(k.verify(&tampered).is_err());
        assert!(k.verify(&format!("{}.{}.", parts[0], parts[1])).is_err());
        let other_iss = TokenKeys::hs256(b"secret", "evil", "agora-api", Duration::from_secs(900));
        assert!(k.verify(&other_iss.issue("user:1".into(), Scopes::READ, None, None).expect("issue").0).is_err());
        let other_aud = TokenKeys::hs256(b"secret", "agora", "other", Duration::from_secs(900));
        assert!(k.verify(&other_aud.issue("user:1".into(), Scopes::READ, None, None).expect("issue").0).is_err());
        // A plain JWT (typ JWT) signed with the right key is still refused.
        let mut h = Header::new(Algorithm::HS256);
        h.typ = Some("JWT".into());
        let t = jsonwebtoken::encode(&h, &c, &EncodingKey::from_secret(b"secret")).expect("encode");
        assert!(k.verify(&t).is_err());
    }

    #[test]
    fn refuses_expired_and_future() {
        let k = keys();
        let (_, mut c) = k.issue("user:1".into(), Scopes::READ, None, None).expect("issue");
        let mut h = Header::new(Algorithm::HS256);
        h.typ = Some("at+jwt".into());
        c.exp = Utc::now().timestamp() - 120;
        let t = jsonwebtoken::encode(&h, &c, &EncodingKey::from_secret(b"secret")).expect("encode");
        assert!(k.verify(&t).is_err());
        assert!(k.verify_ignoring_expiry(&t).is_ok());
        c.exp = Utc::now().timestamp() + 600;
        c.nbf = Utc::now().timestamp() + 300;
        let t = jsonwebtoken::encode(&h, &c, &EncodingKey::from_secret(b"secret")).expect("encode");
        assert!(k.verify(&t).is_err());
    }
}
