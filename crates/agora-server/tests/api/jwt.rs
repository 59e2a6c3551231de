//! CONTRACT §6 JWT bearer tokens under attack (RFC 8725): `alg: none`, stripped signatures,
//! algorithm and key confusion, expiry, `nbf`, missing and wrong claims, tampering, deleted
//! users — every one a 401 whose `WWW-Authenticate` says `invalid_token`, and never a silent
//! downgrade to anonymous. EdDSA apps publish their key at `/.well-known/jwks.json`.
#![allow(clippy::unwrap_used)]

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use serde_json::{Value, json};

use crate::common::*;

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The decoded JSON of one part (0 = header, 1 = payload) of a compact JWS.
fn part(token: &str, i: usize) -> Value {
    let raw = token.split('.').nth(i).unwrap_or_else(|| panic!("token has no part {i}: {token}"));
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(raw).expect("base64url part")).expect("JSON part")
}

/// Compact JWS `header.payload.signature` with the signature given.
fn assemble(header: &Value, claims: &Value, signature: &str) -> String {
    format!("{}.{}.{signature}", b64(header.to_string().as_bytes()), b64(claims.to_string().as_bytes()))
}

/// HMAC-signed token (`alg` taken from the header: HS256, HS384 or HS512).
fn sign_hmac(header: &Value, claims: &Value, key: &[u8]) -> String {
    let input = format!("{}.{}", b64(header.to_string().as_bytes()), b64(claims.to_string().as_bytes()));
    let sig = match header["alg"].as_str() {
        Some("HS384") => {
            let mut m = <Hmac<sha2::Sha384> as Mac>::new_from_slice(key).unwrap();
            m.update(input.as_bytes());
            m.finalize().into_bytes().to_vec()
        }
        Some("HS512") => {
            let mut m = <Hmac<sha2::Sha512> as Mac>::new_from_slice(key).unwrap();
            m.update(input.as_bytes());
            m.finalize().into_bytes().to_vec()
        }
        _ => {
            let mut m = <Hmac<sha2::Sha256> as Mac>::new_from_slice(key).unwrap();
            m.update(input.as_bytes());
            m.finalize().into_bytes().to_vec()
        }
    };
    format!("{input}.{}", b64(&sig))
}

fn hs256_header() -> Value {
    json!({"alg": "HS256", "typ": "at+jwt"})
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// Presents `token` on a protected read, a public read and a write: each must be a 401
/// `invalid_token` (an invalid credential is never treated as anonymous).
async fn assert_refused(app: &TestApp, token: &str, what: &str) {
    for res in [
        app.get("/v2/users/me").bearer(token).send().await,
        app.get("/v2/products").bearer(token).send().await,
        app.post("/v2/posts").bearer(token).json(&json!({"title": "t", "content": "c"})).send().await,
    ] {
        assert_eq!(res.status, 401, "{what}: accepted: {}", res.describe());
        res.assert_invalid_token();
    }
}

async fn assert_accepted(app: &TestApp, token: &str, uid: i64, what: &str) {
    let res = app.get("/v2/users/me").bearer(token).send().await;
    assert_eq!(res.status, 200, "{what}: refused: {}", res.describe());
    assert_eq!(id(res.data()), uid);
}

db_test!(hs256_attacks_are_refused, |app| async move {
    let (user, token) = app.signup_and_login(&unique_email("ada")).await;
    let uid = id(&user);
    let header = part(&token, 0);
    let claims = part(&token, 1);
    assert_eq!(header["alg"], json!("HS256"));
    assert_eq!(header["typ"], json!("at+jwt"));
    for k in ["sub", "iat", "exp", "jti", "iss", "aud", "scope"] {
        assert!(claims.get(k).is_some(), "claim {k} missing from {claims}");
    }
    assert_eq!(claims["sub"], json!(format!("user:{uid}")));
    let key = hs256_key();

    // Sanity: the forging helpers produce tokens the server accepts, so each refusal below is
    // about the one thing changed.
    assert_accepted(&app, &token, uid, "issued token").await;
    assert_accepted(&app, &sign_hmac(&header, &claims, &key), uid, "re-signed token").await;
    let mut fresh = claims.clone();
    fresh["jti"] = json!(uuid::Uuid::new_v4().simple().to_string());
    assert_accepted(&app, &sign_hmac(&hs256_header(), &fresh, &key), uid, "forged with the right key").await;

    let parts: Vec<&str> = token.split('.').collect();
    let (h, p, sig) = (parts[0], parts[1], parts[2]);

    // alg: none, in several spellings, with and without a signature.
    for alg in ["none", "None", "NONE", "nOnE", "none ", ""] {
        let hdr = json!({"alg": alg, "typ": "at+jwt"});
        assert_refused(&app, &assemble(&hdr, &claims, ""), &format!("alg {alg:?}, empty signature")).await;
        assert_refused(&app, &assemble(&hdr, &claims, sig), &format!("alg {alg:?}, original signature")).await;
        let no_sig = assemble(&hdr, &claims, "");
        assert_refused(&app, no_sig.trim_end_matches('.'), &format!("alg {alg:?}, two parts")).await;
    }
    let no_alg = json!({"typ": "at+jwt"});
    assert_refused(&app, &sign_hmac(&no_alg, &claims, &key), "no alg header").await;

    // Stripped or mangled signature.
    assert_refused(&app, &format!("{h}.{p}."), "empty signature").await;
    assert_refused(&app, &format!("{h}.{p}"), "two parts").await;
    assert_refused(&app, &format!("{h}.{p}.AAAA"), "short signature").await;
    let mut flipped = sig.to_string();
    let last = if flipped.ends_with('A') { "B" } else { "A" };
    flipped.replace_range(flipped.len() - 1.., last);
    assert_refused(&app, &format!("{h}.{p}.{flipped}"), "one signature character changed").await;
    assert_refused(&app, &format!("{h}.{p}.{sig}.{sig}"), "four parts").await;

    // Wrong keys: a guess, the configured secret itself (the server derives its key from it),
    // an empty key.
    for wrong in [b"wrong key".to_vec(), TEST_JWT_SECRET.as_bytes().to_vec(), Vec::new()] {
        assert_refused(&app, &sign_hmac(&header, &claims, &wrong), "HS256 with a wrong key").await;
    }
    // Algorithm swaps with the right key.
    for alg in ["HS384", "HS512"] {
        let hdr = json!({"alg": alg, "typ": "at+jwt"});
        assert_refused(&app, &sign_hmac(&hdr, &claims, &key), alg).await;
    }
    for alg in ["RS256", "ES256", "EdDSA", "PS256"] {
        let hdr = json!({"alg": alg, "typ": "at+jwt"});
        assert_refused(&app, &assemble(&hdr, &claims, sig), alg).await;
    }
    // Not an access token: `typ` must be at+jwt (RFC 9068).
    for hdr in
        [json!({"alg": "HS256", "typ": "JWT"}), json!({"alg": "HS256"}), json!({"alg": "HS256", "typ": "rt+jwt"})]
    {
        assert_refused(&app, &sign_hmac(&hdr, &claims, &key), &format!("header {hdr}")).await;
    }

    // Time: expired (beyond the 30 s leeway), not yet valid.
    let mut c = claims.clone();
    c["exp"] = json!(now() - 120);
    c["iat"] = json!(now() - 1000);
    c["nbf"] = json!(now() - 1000);
    assert_refused(&app, &sign_hmac(&header, &c, &key), "expired").await;
    // ...and told apart from a forged one (RFC 6750 error_description), so a client refreshes.
    let res = app.get("/v2/users/me").bearer(&sign_hmac(&header, &c, &key)).send().await;
    let challenge = res.header("www-authenticate").unwrap_or_default().to_string();
    assert!(challenge.contains("error=\"invalid_token\"") && challenge.contains("expired"), "{challenge}");
    assert!(res.body["error"]["message"].as_str().unwrap_or_default().contains("expired"), "{}", res.describe());
    let mut forged = sign_hmac(&header, &c, &key);
    forged.push('A');
    let res = app.get("/v2/users/me").bearer(&forged).send().await;
    assert!(!res.header("www-authenticate").unwrap_or_default().contains("expired"), "{}", res.describe());
    let mut c = claims.clone();
    c["nbf"] = json!(now() + 600);
    assert_refused(&app, &sign_hmac(&header, &c, &key), "nbf in the future").await;
    let mut c = claims.clone();
    c["exp"] = json!(now().to_string());
    assert_refused(&app, &sign_hmac(&header, &c, &key), "exp as a string").await;

    // Missing claims.
    for k in ["exp", "iss", "aud", "sub", "jti", "scope"] {
        let mut c = claims.clone();
        c.as_object_mut().unwrap().remove(k);
        assert_refused(&app, &sign_hmac(&header, &c, &key), &format!("without {k}")).await;
    }
    // Wrong audience and issuer.
    for (k, v) in [
        ("aud", json!("another-api")),
        ("aud", json!(["another-api"])),
        ("aud", json!("")),
        ("iss", json!("evil")),
        ("iss", json!("agora ")),
        ("iss", json!("")),
    ] {
        let mut c = claims.clone();
        c[k] = v.clone();
        assert_refused(&app, &sign_hmac(&header, &c, &key), &format!("{k} = {v}")).await;
    }
    // Subjects that name nobody.
    for sub in ["user:987654", "user:abc", "user:", "admin", "", "client:cl_nope"] {
        let mut c = claims.clone();
        c["sub"] = json!(sub);
        assert_refused(&app, &sign_hmac(&header, &c, &key), &format!("sub {sub:?}")).await;
    }

    // Tampered payload, original signature: another subject, more scopes, a later expiry.
    let other = create_user(&app, "Bob", &unique_email("bob")).await;
    for (k, v) in [
        ("sub", json!(format!("user:{}", id(&other)))),
        ("scope", json!("read write admin")),
        ("role", json!("admin")),
        ("exp", json!(now() + 86_400)),
    ] {
        let mut c = claims.clone();
        c[k] = v.clone();
        assert_refused(&app, &assemble(&header, &c, sig), &format!("tampered {k}")).await;
    }

    // Not JWTs at all.
    for junk in ["", "abc", "a.b.c", "....", "eyJhbGciOiJIUzI1NiJ9", &"x".repeat(10_000)] {
        assert_refused(&app, junk, &format!("junk {:.20}", junk)).await;
    }
    // The genuine token still works after all that.
    assert_accepted(&app, &token, uid, "issued token, at the end").await;
});

db_test!(claims_cannot_raise_privileges, |app| async move {
    // A correctly signed token claiming `role: admin` and the admin scope for an ordinary user:
    // the server re-reads the role, so the user stays a user.
    let (user, token) = app.signup_and_login(&unique_email("ada")).await;
    let mut claims = part(&token, 1);
    claims["role"] = json!("admin");
    claims["scope"] = json!("read write admin");
    claims["jti"] = json!(uuid::Uuid::new_v4().simple().to_string());
    let forged = sign_hmac(&hs256_header(), &claims, &hs256_key());
    assert_accepted(&app, &forged, id(&user), "self-promoted token").await;
    let res =
        app.post("/v2/products").bearer(&forged).json(&json!({"name": "x", "category": "y", "price": 1})).send().await;
    res.assert_error(403, "FORBIDDEN");
    let bob = create_user(&app, "Bob", &unique_email("bob")).await;
    let res = app.delete(&format!("/v2/users/{}", id(&bob))).bearer(&forged).send().await;
    res.assert_error(403, "FORBIDDEN");
});

db_test!(token_of_a_deleted_user_is_refused, |app| async move {
    let (user, token) = app.signup_and_login(&unique_email("ada")).await;
    let uid = id(&user);
    assert_accepted(&app, &token, uid, "before deletion").await;
    app.delete(&format!("/v2/users/{uid}")).bearer(&token).send().await.assert_status(204);
    assert_refused(&app, &token, "token of a deleted user").await;
    // Also when an administrator deleted the account.
    let (user, token) = app.signup_and_login(&unique_email("bob")).await;
    let admin = app.admin_token().await;
    app.delete(&format!("/v2/users/{}", id(&user))).bearer(&admin).send().await.assert_status(204);
    assert_refused(&app, &token, "token of a user an admin deleted").await;
});

db_test!(hs256_publishes_no_keys, |app| async move {
    let res = app.get("/.well-known/jwks.json").send().await;
    res.assert_status(200);
    assert_eq!(res.body, json!({"keys": []}), "a shared secret must never be published");
});

db_test!(eddsa_tokens_and_jwks, with = TestApp::eddsa, |app| async move {
    let (pem, public) = app.ed25519.clone().unwrap();
    let (user, token) = app.signup_and_login(&unique_email("ada")).await;
    let uid = id(&user);
    let header = part(&token, 0);
    let claims = part(&token, 1);
    assert_eq!(header["alg"], json!("EdDSA"));
    assert_eq!(header["typ"], json!("at+jwt"));
    let kid = header["kid"].as_str().expect("kid in the header").to_string();
    assert_accepted(&app, &token, uid, "EdDSA token").await;

    // The JWKS publishes the public key (and nothing private) under the token's kid.
    let res = app.get("/.well-known/jwks.json").send().await;
    res.assert_status(200);
    let keys = res.body["keys"].as_array().expect("keys").clone();
    assert_eq!(keys.len(), 1, "{}", res.describe());
    let jwk = &keys[0];
    assert_eq!(jwk["kty"], json!("OKP"));
    assert_eq!(jwk["crv"], json!("Ed25519"));
    assert_eq!(jwk["kid"], json!(kid));
    assert_eq!(jwk["x"], json!(b64(&public)));
    assert!(jwk.get("d").is_none(), "private key published: {jwk}");

    // A standard JWT library verifies the token with nothing but that JWK.
    let jwk: jsonwebtoken::jwk::Jwk = serde_json::from_value(jwk.clone()).expect("a valid JWK");
    let key = jsonwebtoken::DecodingKey::from_jwk(&jwk).expect("decoding key from JWK");
    let mut v = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::EdDSA);
    v.set_audience(&["agora-api"]);
    v.set_issuer(&["agora"]);
    let data = jsonwebtoken::decode::<Value>(&token, &key, &v).expect("token verifies against the JWKS");
    assert_eq!(data.claims["sub"], json!(format!("user:{uid}")));
    assert_eq!(data.claims, claims);

    // Sanity: tokens we sign with the app's own key are accepted, so the refusals below are
    // about the one thing changed.
    let ed_header = |kid: &str| {
        let mut h = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::EdDSA);
        h.typ = Some("at+jwt".into());
        h.kid = Some(kid.into());
        h
    };
    let ours = jsonwebtoken::EncodingKey::from_ed_pem(pem.as_bytes()).unwrap();
    let mut fresh = claims.clone();
    fresh["jti"] = json!(uuid::Uuid::new_v4().simple().to_string());
    let forged = jsonwebtoken::encode(&ed_header(&kid), &fresh, &ours).unwrap();
    assert_accepted(&app, &forged, uid, "signed with the app's key").await;
    let mut expired = fresh.clone();
    expired["exp"] = json!(now() - 120);
    assert_refused(&app, &jsonwebtoken::encode(&ed_header(&kid), &expired, &ours).unwrap(), "expired EdDSA").await;
    let mut wrong_aud = fresh.clone();
    wrong_aud["aud"] = json!("another-api");
    assert_refused(&app, &jsonwebtoken::encode(&ed_header(&kid), &wrong_aud, &ours).unwrap(), "EdDSA, wrong aud").await;

    // Another Ed25519 key claiming the same kid.
    let (other_pem, _) = ed25519_pem();
    let theirs = jsonwebtoken::EncodingKey::from_ed_pem(other_pem.as_bytes()).unwrap();
    assert_refused(&app, &jsonwebtoken::encode(&ed_header(&kid), &fresh, &theirs).unwrap(), "attacker's EdDSA key")
        .await;

    // Key confusion: HS256 "signed" with the public key in every form an attacker can get.
    let x = b64(&public);
    let jwk_text = serde_json::to_string(&keys[0]).unwrap();
    let spki_pem = {
        use ed25519_dalek::pkcs8::EncodePublicKey;
        let vk = ed25519_dalek::VerifyingKey::from_bytes(&public).unwrap();
        let der = vk.to_public_key_der().unwrap();
        let b = base64::engine::general_purpose::STANDARD.encode(der.as_bytes());
        format!("-----BEGIN PUBLIC KEY-----\n{b}\n-----END PUBLIC KEY-----\n")
    };
    for (label, key) in [
        ("raw public key", public.to_vec()),
        ("base64url x", x.as_bytes().to_vec()),
        ("JWK JSON", jwk_text.as_bytes().to_vec()),
        ("public key PEM", spki_pem.as_bytes().to_vec()),
        ("the HS256 key the secret would give", hs256_key()),
    ] {
        for hdr in [hs256_header(), json!({"alg": "HS256", "typ": "at+jwt", "kid": kid})] {
            assert_refused(&app, &sign_hmac(&hdr, &fresh, &key), &format!("HS256 with the {label}")).await;
        }
    }
    // alg none and a stripped signature on the EdDSA app.
    assert_refused(&app, &assemble(&json!({"alg": "none", "typ": "at+jwt"}), &fresh, ""), "alg none").await;
    let parts: Vec<&str> = forged.split('.').collect();
    assert_refused(&app, &format!("{}.{}.", parts[0], parts[1]), "stripped EdDSA signature").await;
    // Tampered payload under a genuine EdDSA signature.
    let mut c = fresh.clone();
    c["scope"] = json!("read write admin");
    assert_refused(&app, &assemble(&part(&forged, 0), &c, parts[2]), "tampered EdDSA payload").await;
});
