//! Compact JWS tokens: signing them, and verifying signature and registered claims against a
//! set of trusted keys. Shared by the built-in issuer and external (Entra) issuers.
//!
//! Time is a parameter, never read from the system clock, so callers and tests control it.
//! `jsonwebtoken` is used only for the RS256 signature primitive: its `decode` reads the system
//! clock and folds distinct failures together, and both matter here.

use std::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Utc};
use domain::ClientId;
use jsonwebtoken::{Algorithm, DecodingKey};
use serde_json::{Map, Value};

use crate::signing_key::{SigningKey, VerificationKey};

/// Allowed disagreement between our clock and the issuer's, in seconds, applied to `exp` and
/// `nbf`. One minute absorbs ordinary NTP drift between hosts without meaningfully extending a
/// token's life. (Microsoft's middleware allows five minutes; synchronised servers need less.)
pub const CLOCK_SKEW_SECS: i64 = 60;
/// Longer "tokens" are refused before any decoding work (Entra tokens are ~1.5 KB).
const MAX_TOKEN_LEN: usize = 16 * 1024;

/// Why a bearer token was refused. Every variant's text is short and safe to show the client
/// (`WWW-Authenticate: Bearer error="invalid_token", error_description="..."`): it never
/// echoes token content.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("{0}")]
    Malformed(&'static str),
    #[error("the token is signed with an unknown key")]
    UnknownKey,
    #[error("the token's signing algorithm is not accepted")]
    WrongAlgorithm,
    #[error("the token signature is invalid")]
    BadSignature,
    #[error("the token has expired")]
    Expired,
    #[error("the token is not valid yet")]
    NotYetValid,
    #[error("the token issuer is not accepted")]
    WrongIssuer,
    #[error("the token audience is not accepted")]
    WrongAudience,
}

impl TokenError {
    /// The RFC 6750 challenge for this failure, ready for a `WWW-Authenticate` header.
    pub fn www_authenticate(&self) -> String {
        format!(r#"Bearer error="invalid_token", error_description="{self}""#)
    }
}

/// What a verified token says about its caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedToken {
    /// The client application (`azp`, else `appid`). Authorization is decided from its local
    /// record, never from the token.
    pub client_id: ClientId,
    pub issuer: String,
    pub subject: Option<String>,
    /// Entra's `tid`, when present.
    pub tenant_id: Option<String>,
    /// The `kid` of the key that signed it.
    pub key_id: String,
    pub token_id: Option<String>,
    pub issued_at: Option<DateTime<Utc>>,
    pub expires_at: DateTime<Utc>,
    /// An app-only (client credentials) token: no `scp` claim, and `idtyp`, when present, is
    /// `app`. A token with `scp` (or `idtyp` `user`) was issued to a user through the app.
    pub app_only: bool,
}

/// A key a verifier trusts, with the one algorithm it may be used with (no algorithm
/// confusion: the token's `alg` must equal the key's).
#[derive(Clone)]
pub(crate) struct TrustedKey {
    pub(crate) kid: String,
    material: KeyMaterial,
}

#[derive(Clone)]
enum KeyMaterial {
    Ed25519(ed25519_dalek::VerifyingKey),
    Rs256(Box<DecodingKey>),
}

impl TrustedKey {
    pub(crate) fn ed25519(key: &VerificationKey) -> Self {
        Self {
            kid: key.kid().to_string(),
            material: KeyMaterial::Ed25519(*key.dalek()),
        }
    }

    pub(crate) fn rs256(kid: String, key: DecodingKey) -> Self {
        Self {
            kid,
            material: KeyMaterial::Rs256(Box::new(key)),
        }
    }

    fn algorithm(&self) -> &'static str {
        match self.material {
            KeyMaterial::Ed25519(_) => "EdDSA",
            KeyMaterial::Rs256(_) => "RS256",
        }
    }

    fn signature_is_valid(&self, signing_input: &[u8], signature_b64: &str) -> bool {
        match &self.material {
            KeyMaterial::Ed25519(key) => {
                let Ok(bytes) = URL_SAFE_NO_PAD.decode(signature_b64) else {
                    return false;
                };
                let Ok(signature) = ed25519_dalek::Signature::from_slice(&bytes) else {
                    return false;
                };
                // Strict: refuses malleable signatures and weak keys.
                key.verify_strict(signing_input, &signature).is_ok()
            }
            KeyMaterial::Rs256(key) => {
                jsonwebtoken::crypto::verify(signature_b64, signing_input, key, Algorithm::RS256).unwrap_or(false)
            }
        }
    }
}

impl fmt::Debug for TrustedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TrustedKey")
            .field("kid", &self.kid)
            .field("alg", &self.algorithm())
            .finish()
    }
}

/// Signs `claims` as a compact JWS with header `{"alg":"EdDSA","typ":"JWT","kid":...}`.
pub(crate) fn sign(key: &SigningKey, claims: &Value) -> String {
    let header = serde_json::json!({ "alg": "EdDSA", "typ": "JWT", "kid": key.kid() });
    let mut token = URL_SAFE_NO_PAD.encode(header.to_string());
    token.push('.');
    token.push_str(&URL_SAFE_NO_PAD.encode(claims.to_string()));
    let signature = key.sign(token.as_bytes());
    token.push('.');
    token.push_str(&URL_SAFE_NO_PAD.encode(signature));
    token
}

/// The issuer and audience a verifier requires.
pub(crate) struct Expected<'a> {
    pub(crate) issuer: &'a str,
    pub(crate) audience: &'a str,
}

/// The three parts of a compact JWS, split but not yet trusted.
struct Parts<'a> {
    header: Map<String, Value>,
    payload_b64: &'a str,
    signing_input: &'a str,
    signature_b64: &'a str,
}

fn split(token: &str) -> Result<Parts<'_>, TokenError> {
    const NOT_A_JWT: TokenError = TokenError::Malformed("the token is not a well-formed JWT");
    if token.len() > MAX_TOKEN_LEN {
        return Err(TokenError::Malformed("the token is too long"));
    }
    // Exactly three parts: a JWE (five) or anything else is not a signed JWT.
    if token.split('.').count() != 3 {
        return Err(NOT_A_JWT);
    }
    let (signing_input, signature_b64) = token.rsplit_once('.').ok_or(NOT_A_JWT)?;
    let (header_b64, payload_b64) = signing_input.split_once('.').ok_or(NOT_A_JWT)?;
    let header = decode_object(header_b64).ok_or(NOT_A_JWT)?;
    Ok(Parts {
        header,
        payload_b64,
        signing_input,
        signature_b64,
    })
}

fn decode_object(b64: &str) -> Option<Map<String, Value>> {
    let bytes = URL_SAFE_NO_PAD.decode(b64).ok()?;
    match serde_json::from_slice(&bytes).ok()? {
        Value::Object(map) => Some(map),
        _ => None,
    }
}

/// The `iss` claim of a token, read WITHOUT verifying anything: only for choosing which
/// verifier to hand the token to.
pub fn unverified_issuer(token: &str) -> Option<String> {
    let parts = split(token).ok()?;
    let claims = decode_object(parts.payload_b64)?;
    claims.get("iss")?.as_str().map(str::to_string)
}

/// Verifies signature, issuer, audience, lifetime and client of `token`.
pub(crate) fn verify(
    token: &str,
    keys: &[TrustedKey],
    expected: &Expected<'_>,
    now: DateTime<Utc>,
) -> Result<VerifiedToken, TokenError> {
    let parts = split(token)?;
    check_header(&parts.header)?;
    let alg = parts
        .header
        .get("alg")
        .and_then(Value::as_str)
        .ok_or(TokenError::Malformed("the token header names no algorithm"))?;
    let kid = parts
        .header
        .get("kid")
        .and_then(Value::as_str)
        .ok_or(TokenError::UnknownKey)?;
    let key = keys.iter().find(|k| k.kid == kid).ok_or(TokenError::UnknownKey)?;
    if alg != key.algorithm() {
        return Err(TokenError::WrongAlgorithm);
    }
    if !key.signature_is_valid(parts.signing_input.as_bytes(), parts.signature_b64) {
        return Err(TokenError::BadSignature);
    }
    let claims =
        decode_object(parts.payload_b64).ok_or(TokenError::Malformed("the token claims are not a JSON object"))?;
    check_claims(&claims, expected, now, kid)
}

fn check_header(header: &Map<String, Value>) -> Result<(), TokenError> {
    if header.contains_key("crit") {
        // RFC 7515 §4.1.11: extensions we do not understand must not be ignored.
        return Err(TokenError::Malformed("the token uses critical header extensions"));
    }
    match header.get("typ") {
        None => Ok(()),
        Some(Value::String(typ))
            if typ.eq_ignore_ascii_case("JWT")
                || typ.eq_ignore_ascii_case("at+jwt")
                || typ.eq_ignore_ascii_case("application/at+jwt") =>
        {
            Ok(())
        }
        Some(_) => Err(TokenError::Malformed("the token type is not JWT")),
    }
}

fn check_claims(
    claims: &Map<String, Value>,
    expected: &Expected<'_>,
    now: DateTime<Utc>,
    kid: &str,
) -> Result<VerifiedToken, TokenError> {
    let now_secs = now.timestamp();
    let expires_at = numeric_date(claims, "exp")?.ok_or(TokenError::Malformed("the token has no expiry (exp)"))?;
    // exp is the first instant at which the token is no longer valid (RFC 7519 §4.1.4).
    if now_secs >= expires_at.timestamp().saturating_add(CLOCK_SKEW_SECS) {
        return Err(TokenError::Expired);
    }
    if let Some(not_before) = numeric_date(claims, "nbf")? {
        if now_secs.saturating_add(CLOCK_SKEW_SECS) < not_before.timestamp() {
            return Err(TokenError::NotYetValid);
        }
    }
    let issuer = string_claim(claims, "iss").ok_or(TokenError::WrongIssuer)?;
    if issuer != expected.issuer {
        return Err(TokenError::WrongIssuer);
    }
    let audience_matches = match claims.get("aud") {
        Some(Value::String(aud)) => aud == expected.audience,
        Some(Value::Array(auds)) => auds.iter().any(|a| a.as_str() == Some(expected.audience)),
        _ => false,
    };
    if !audience_matches {
        return Err(TokenError::WrongAudience);
    }
    let client = string_claim(claims, "azp")
        .or_else(|| string_claim(claims, "appid"))
        .ok_or(TokenError::Malformed(
            "the token names no client application (azp or appid)",
        ))?;
    let client_id = client
        .parse::<ClientId>()
        .map_err(|_| TokenError::Malformed("the token's client application id is not a GUID"))?;
    Ok(VerifiedToken {
        client_id,
        issuer: issuer.to_string(),
        subject: string_claim(claims, "sub").map(str::to_string),
        tenant_id: string_claim(claims, "tid").map(str::to_string),
        key_id: kid.to_string(),
        token_id: string_claim(claims, "jti").map(str::to_string),
        issued_at: numeric_date(claims, "iat")?,
        expires_at,
        app_only: !claims.contains_key("scp")
            && string_claim(claims, "idtyp").is_none_or(|kind| kind.eq_ignore_ascii_case("app")),
    })
}

fn string_claim<'a>(claims: &'a Map<String, Value>, name: &str) -> Option<&'a str> {
    claims.get(name).and_then(Value::as_str)
}

/// A NumericDate claim (seconds since the epoch, possibly fractional; RFC 7519 §2).
fn numeric_date(claims: &Map<String, Value>, name: &str) -> Result<Option<DateTime<Utc>>, TokenError> {
    const BAD_DATE: TokenError = TokenError::Malformed("a token date claim (exp, nbf, iat) is not a valid date");
    let Some(value) = claims.get(name) else {
        return Ok(None);
    };
    let seconds = match value {
        Value::Number(n) => match n.as_i64() {
            Some(secs) => secs,
            None => {
                let secs = n.as_f64().ok_or(BAD_DATE)?.floor();
                if !secs.is_finite() || secs.abs() > 1e15 {
                    return Err(BAD_DATE);
                }
                // In range: checked just above.
                secs as i64
            }
        },
        _ => return Err(BAD_DATE),
    };
    DateTime::from_timestamp(seconds, 0).map(Some).ok_or(BAD_DATE)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const ISSUER: &str = "https://rosterd.example";
    const AUDIENCE: &str = "api://rosterd";
    const CLIENT: &str = "6f1e3b9a-2c44-4d8e-9a57-0f3c1b2d4e5f";

    fn expected() -> Expected<'static> {
        Expected {
            issuer: ISSUER,
            audience: AUDIENCE,
        }
    }

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(secs, 0).unwrap()
    }

    fn claims() -> Value {
        json!({ "iss": ISSUER, "aud": AUDIENCE, "azp": CLIENT, "sub": CLIENT,
                "iat": 1000, "nbf": 1000, "exp": 2000, "jti": "j1", "tid": "t1" })
    }

    fn setup() -> (SigningKey, Vec<TrustedKey>) {
        let key = SigningKey::generate();
        let trusted = vec![TrustedKey::ed25519(&key.verification_key())];
        (key, trusted)
    }

    #[test]
    fn signed_token_verifies_with_its_claims() {
        let (key, trusted) = setup();
        let token = sign(&key, &claims());
        let verified = verify(&token, &trusted, &expected(), at(1500)).unwrap();
        assert_eq!(verified.client_id.to_string(), CLIENT);
        assert_eq!(verified.issuer, ISSUER);
        assert_eq!(verified.subject.as_deref(), Some(CLIENT));
        assert_eq!(verified.tenant_id.as_deref(), Some("t1"));
        assert_eq!(verified.token_id.as_deref(), Some("j1"));
        assert_eq!(verified.key_id, key.kid());
        assert_eq!(verified.issued_at, Some(at(1000)));
        assert_eq!(verified.expires_at, at(2000));
    }

    #[test]
    fn header_is_eddsa_jwt_with_kid() {
        let (key, _) = setup();
        let token = sign(&key, &claims());
        let header = decode_object(token.split('.').next().unwrap()).unwrap();
        assert_eq!(
            Value::Object(header),
            json!({"alg": "EdDSA", "typ": "JWT", "kid": key.kid()})
        );
    }

    #[test]
    fn lifetime_bounds_honour_the_skew() {
        let (key, trusted) = setup();
        let token = sign(&key, &claims());
        let check = |secs| verify(&token, &trusted, &expected(), at(secs));
        assert!(check(2000 + CLOCK_SKEW_SECS - 1).is_ok());
        assert_eq!(check(2000 + CLOCK_SKEW_SECS), Err(TokenError::Expired));
        assert!(check(1000 - CLOCK_SKEW_SECS).is_ok());
        assert_eq!(check(1000 - CLOCK_SKEW_SECS - 1), Err(TokenError::NotYetValid));
    }

    #[test]
    fn claims_are_checked() {
        let (key, trusted) = setup();
        let cases: [(&str, Value, TokenError); 8] = [
            ("iss", json!("https://evil.example"), TokenError::WrongIssuer),
            ("aud", json!("api://other"), TokenError::WrongAudience),
            ("aud", json!(["api://other"]), TokenError::WrongAudience),
            ("aud", json!(5), TokenError::WrongAudience),
            (
                "azp",
                json!("not-a-guid"),
                TokenError::Malformed("the token's client application id is not a GUID"),
            ),
            (
                "exp",
                json!("tomorrow"),
                TokenError::Malformed("a token date claim (exp, nbf, iat) is not a valid date"),
            ),
            (
                "exp",
                json!(1e300),
                TokenError::Malformed("a token date claim (exp, nbf, iat) is not a valid date"),
            ),
            (
                "nbf",
                json!(null),
                TokenError::Malformed("a token date claim (exp, nbf, iat) is not a valid date"),
            ),
        ];
        for (name, value, error) in cases {
            let mut c = claims();
            c[name] = value;
            let token = sign(&key, &c);
            assert_eq!(verify(&token, &trusted, &expected(), at(1500)), Err(error), "{name}");
        }
        for missing in ["iss", "aud", "exp", "azp"] {
            let mut c = claims();
            c.as_object_mut().unwrap().remove(missing);
            let token = sign(&key, &c);
            assert!(verify(&token, &trusted, &expected(), at(1500)).is_err(), "{missing}");
        }
    }

    #[test]
    fn audience_lists_fractional_dates_and_appid_are_accepted() {
        let (key, trusted) = setup();
        let mut c = claims();
        c["aud"] = json!(["api://other", AUDIENCE]);
        c["exp"] = json!(2000.75);
        let map = c.as_object_mut().unwrap();
        map.remove("azp");
        map.remove("nbf");
        map.insert("appid".into(), json!(CLIENT));
        let verified = verify(&sign(&key, &c), &trusted, &expected(), at(1500)).unwrap();
        assert_eq!(verified.client_id.to_string(), CLIENT);
        assert_eq!(verified.expires_at, at(2000));
    }

    #[test]
    fn malformed_tokens_are_refused() {
        let (key, trusted) = setup();
        let good = sign(&key, &claims());
        let (head, rest) = good.split_once('.').unwrap();
        for token in [
            "",
            "abc",
            "a.b",
            "a.b.c",
            "a.b.c.d.e",
            &format!("{head}.{rest}.extra"),
            &format!("!!!.{rest}"),
            &format!("{}.{rest}", URL_SAFE_NO_PAD.encode("[1,2]")),
            &"x".repeat(MAX_TOKEN_LEN + 1),
        ] {
            assert!(
                matches!(
                    verify(token, &trusted, &expected(), at(1500)),
                    Err(TokenError::Malformed(_))
                ),
                "{token:.40}"
            );
        }
    }

    #[test]
    fn signature_and_key_failures_are_distinguished() {
        let (key, trusted) = setup();
        let token = sign(&key, &claims());
        let (input, signature) = token.rsplit_once('.').unwrap();

        let mut sig = URL_SAFE_NO_PAD.decode(signature).unwrap();
        sig[10] ^= 1;
        let tampered_sig = format!("{input}.{}", URL_SAFE_NO_PAD.encode(&sig));
        assert_eq!(
            verify(&tampered_sig, &trusted, &expected(), at(1500)),
            Err(TokenError::BadSignature)
        );

        let (header, _) = input.split_once('.').unwrap();
        let mut forged = claims();
        forged["azp"] = json!("00000000-0000-0000-0000-000000000001");
        let tampered_claims = format!("{header}.{}.{signature}", URL_SAFE_NO_PAD.encode(forged.to_string()));
        assert_eq!(
            verify(&tampered_claims, &trusted, &expected(), at(1500)),
            Err(TokenError::BadSignature)
        );

        let short_sig = format!("{input}.AAAA");
        assert_eq!(
            verify(&short_sig, &trusted, &expected(), at(1500)),
            Err(TokenError::BadSignature)
        );

        let stranger = SigningKey::generate();
        let foreign = sign(&stranger, &claims());
        assert_eq!(
            verify(&foreign, &trusted, &expected(), at(1500)),
            Err(TokenError::UnknownKey)
        );
    }

    fn with_header(key: &SigningKey, header: Value) -> String {
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims().to_string())
        );
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(key.sign(input.as_bytes())))
    }

    #[test]
    fn header_rules() {
        let (key, trusted) = setup();
        let kid = key.kid().to_string();
        let cases = [
            (json!({"alg": "none", "kid": kid}), Err(TokenError::WrongAlgorithm)),
            (json!({"alg": "RS256", "kid": kid}), Err(TokenError::WrongAlgorithm)),
            (json!({"alg": "HS256", "kid": kid}), Err(TokenError::WrongAlgorithm)),
            (json!({"alg": "EdDSA"}), Err(TokenError::UnknownKey)),
            (
                json!({"kid": kid}),
                Err(TokenError::Malformed("the token header names no algorithm")),
            ),
            (
                json!({"alg": "EdDSA", "kid": kid, "crit": ["exp"]}),
                Err(TokenError::Malformed("the token uses critical header extensions")),
            ),
            (
                json!({"alg": "EdDSA", "kid": kid, "typ": "JWE"}),
                Err(TokenError::Malformed("the token type is not JWT")),
            ),
            (json!({"alg": "EdDSA", "kid": kid}), Ok(())),
            (json!({"alg": "EdDSA", "kid": kid, "typ": "at+jwt"}), Ok(())),
        ];
        for (header, outcome) in cases {
            let token = with_header(&key, header.clone());
            let result = verify(&token, &trusted, &expected(), at(1500)).map(|_| ());
            assert_eq!(result, outcome, "{header}");
        }
    }

    #[test]
    fn unverified_issuer_peeks() {
        let (key, _) = setup();
        assert_eq!(unverified_issuer(&sign(&key, &claims())).as_deref(), Some(ISSUER));
        assert_eq!(unverified_issuer("garbage"), None);
    }

    #[test]
    fn challenge_is_rfc6750_and_quote_free() {
        let all = [
            TokenError::Malformed("the token is not a well-formed JWT"),
            TokenError::UnknownKey,
            TokenError::WrongAlgorithm,
            TokenError::BadSignature,
            TokenError::Expired,
            TokenError::NotYetValid,
            TokenError::WrongIssuer,
            TokenError::WrongAudience,
        ];
        for error in all {
            let challenge = error.www_authenticate();
            assert!(challenge.starts_with(r#"Bearer error="invalid_token", error_description=""#));
            assert_eq!(challenge.matches('"').count(), 4, "{challenge}");
        }
        assert_eq!(
            TokenError::Expired.www_authenticate(),
            r#"Bearer error="invalid_token", error_description="the token has expired""#
        );
    }
}
