//! Reading a client-credentials token request: the form body and an optional HTTP Basic header,
//! with the rules of RFC 6749 (§2.3.1, §3.2, §4.4) and Entra's answers for each mistake.

use std::fmt;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use percent_encoding::percent_decode_str;

use crate::oauth::OAuthError;

const GRANT_TYPE: &str = "grant_type";
const CLIENT_ID: &str = "client_id";
const CLIENT_SECRET: &str = "client_secret";
const SCOPE: &str = "scope";
const CLIENT_CREDENTIALS: &str = "client_credentials";

/// How the client sent its secret (the token endpoint answers a failed Basic authentication
/// with a `WWW-Authenticate: Basic` challenge, RFC 6749 §5.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMethod {
    ClientSecretPost,
    ClientSecretBasic,
}

/// A well-formed client-credentials request, not yet authenticated. `Debug` hides the secret.
#[derive(Clone, PartialEq, Eq)]
pub struct ClientCredentials {
    pub client_id: String,
    pub client_secret: String,
    pub scope: Option<String>,
    pub method: AuthMethod,
}

impl fmt::Debug for ClientCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientCredentials")
            .field("client_id", &self.client_id)
            .field("client_secret", &"<redacted>")
            .field("scope", &self.scope)
            .field("method", &self.method)
            .finish()
    }
}

/// Reads a token request from its decoded form fields and its `Authorization` header, if any
/// (any scheme other than Basic is an error here).
///
/// Rules: each known parameter at most once (RFC 6749 §3.2); an empty value counts as absent;
/// `grant_type` must be `client_credentials`; the secret is in the body or in the Basic header,
/// never both (RFC 6749 §2.3: one authentication method per request). A `client_id` in the body
/// beside a Basic header is tolerated when it names the same client. Basic credentials are
/// form-urlencoded before base64 (RFC 6749 §2.3.1), so they are decoded, `+` included.
pub fn client_credentials(
    form: &[(String, String)],
    basic_header: Option<&str>,
) -> Result<ClientCredentials, OAuthError> {
    let grant_type = single(form, GRANT_TYPE)?;
    let body_id = single(form, CLIENT_ID)?;
    let body_secret = single(form, CLIENT_SECRET)?;
    let scope = single(form, SCOPE)?.map(str::to_string);

    match grant_type {
        None => return Err(OAuthError::missing_parameter(GRANT_TYPE)),
        Some(CLIENT_CREDENTIALS) => {}
        Some(other) => return Err(OAuthError::unsupported_grant_type(other)),
    }

    let basic = basic_header.map(parse_basic).transpose()?;
    let (client_id, client_secret, method) = match (basic, body_secret) {
        (Some(_), Some(_)) => {
            return Err(OAuthError::malformed_request(
                "The client secret was sent both in the Authorization header and in the body; send it once.",
            ))
        }
        (Some((id, secret)), None) => {
            if body_id.is_some_and(|body| body != id) {
                return Err(OAuthError::malformed_request(
                    "The client_id in the body differs from the one in the Authorization header.",
                ));
            }
            (id, secret, AuthMethod::ClientSecretBasic)
        }
        (None, secret) => {
            let id = body_id.ok_or_else(|| OAuthError::missing_parameter(CLIENT_ID))?;
            let secret = secret.ok_or_else(OAuthError::missing_client_secret)?;
            (id.to_string(), secret.to_string(), AuthMethod::ClientSecretPost)
        }
    };
    Ok(ClientCredentials {
        client_id,
        client_secret,
        scope,
        method,
    })
}

/// The value of a parameter that may appear at most once; empty means absent.
fn single<'a>(form: &'a [(String, String)], name: &str) -> Result<Option<&'a str>, OAuthError> {
    let mut values = form
        .iter()
        .filter(|(key, _)| key == name)
        .map(|(_, value)| value.as_str());
    let first = values.next();
    if values.next().is_some() {
        return Err(OAuthError::malformed_request(&format!(
            "The parameter '{name}' appears more than once."
        )));
    }
    Ok(first.filter(|v| !v.is_empty()))
}

/// `Basic base64(urlencode(id) ":" urlencode(secret))` → (id, secret).
fn parse_basic(header: &str) -> Result<(String, String), OAuthError> {
    let bad = |why: &str| OAuthError::malformed_request(&format!("The Authorization header {why}."));
    let (scheme, encoded) = header
        .trim()
        .split_once(' ')
        .ok_or_else(|| bad("must be 'Basic <credentials>'"))?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(bad("must use the Basic scheme at the token endpoint"));
    }
    let decoded = STANDARD
        .decode(encoded.trim())
        .map_err(|_| bad("does not hold valid base64"))?;
    let text = String::from_utf8(decoded).map_err(|_| bad("does not hold UTF-8 text"))?;
    let (id, secret) = text
        .split_once(':')
        .ok_or_else(|| bad("must hold 'client_id:client_secret'"))?;
    let id = form_decode(id).ok_or_else(|| bad("holds a badly encoded client_id"))?;
    let secret = form_decode(secret).ok_or_else(|| bad("holds a badly encoded client_secret"))?;
    if id.is_empty() || secret.is_empty() {
        return Err(bad("holds an empty client_id or client_secret"));
    }
    Ok((id, secret))
}

/// application/x-www-form-urlencoded decoding of one value: `+` is a space, `%XX` a byte.
fn form_decode(text: &str) -> Option<String> {
    let spaced = text.replace('+', " ");
    percent_decode_str(&spaced).decode_utf8().ok().map(|s| s.into_owned())
}

/// The form fields of a token request, as [`client_credentials`] reads them: its schema, for the
/// API's documentation (`client_id` and `client_secret` may come in an HTTP Basic header instead).
pub struct TokenForm;

impl utoipa::PartialSchema for TokenForm {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, Type};
        let text = |description: &str| {
            ObjectBuilder::new()
                .schema_type(Type::String)
                .description(Some(description))
        };
        ObjectBuilder::new()
            .property(
                GRANT_TYPE,
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .enum_values(Some([CLIENT_CREDENTIALS])),
            )
            .required(GRANT_TYPE)
            .property(CLIENT_ID, text("The client's id (or in the Basic header)"))
            .property(CLIENT_SECRET, text("The client's secret (or in the Basic header)"))
            .property(SCOPE, text("Accepted and ignored"))
            .into()
    }
}

impl utoipa::ToSchema for TokenForm {}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn basic(id: &str, secret: &str) -> String {
        format!("Basic {}", STANDARD.encode(format!("{id}:{secret}")))
    }

    fn code(result: Result<ClientCredentials, OAuthError>) -> (&'static str, u32) {
        let error = result.unwrap_err();
        (error.error, error.error_codes[0])
    }

    #[test]
    fn secret_in_the_body() {
        let parsed = client_credentials(
            &form(&[
                ("grant_type", "client_credentials"),
                ("client_id", "abc"),
                ("client_secret", "s3cret"),
                ("scope", "api://rosterd/.default"),
                ("unrelated", "ignored"),
            ]),
            None,
        )
        .unwrap();
        assert_eq!(parsed.client_id, "abc");
        assert_eq!(parsed.client_secret, "s3cret");
        assert_eq!(parsed.scope.as_deref(), Some("api://rosterd/.default"));
        assert_eq!(parsed.method, AuthMethod::ClientSecretPost);
    }

    #[test]
    fn secret_in_basic_is_form_decoded() {
        let header = basic("my%20app", "a+b%2Bc%3A~");
        let parsed = client_credentials(&form(&[("grant_type", "client_credentials")]), Some(&header)).unwrap();
        assert_eq!(parsed.client_id, "my app");
        assert_eq!(parsed.client_secret, "a b+c:~");
        assert_eq!(parsed.scope, None);
        assert_eq!(parsed.method, AuthMethod::ClientSecretBasic);

        let lower = format!("basic  {}", STANDARD.encode("id:pa:ss"));
        let parsed = client_credentials(&form(&[("grant_type", "client_credentials")]), Some(&lower)).unwrap();
        assert_eq!(
            (parsed.client_id.as_str(), parsed.client_secret.as_str()),
            ("id", "pa:ss")
        );
    }

    #[test]
    fn basic_with_the_same_client_id_in_the_body_is_accepted() {
        let grant = ("grant_type", "client_credentials");
        let header = basic("abc", "s");
        assert!(client_credentials(&form(&[grant, ("client_id", "abc")]), Some(&header)).is_ok());
        assert_eq!(
            code(client_credentials(&form(&[grant, ("client_id", "xyz")]), Some(&header))),
            ("invalid_request", 9002313)
        );
    }

    #[test]
    fn grant_type_rules() {
        assert_eq!(
            code(client_credentials(
                &form(&[("client_id", "a"), ("client_secret", "s")]),
                None
            )),
            ("invalid_request", 900144)
        );
        assert_eq!(
            code(client_credentials(
                &form(&[("grant_type", ""), ("client_id", "a")]),
                None
            )),
            ("invalid_request", 900144)
        );
        let error = client_credentials(&form(&[("grant_type", "password")]), None).unwrap_err();
        assert_eq!((error.error, error.error_codes[0]), ("unsupported_grant_type", 70003));
        assert!(error.error_description.contains("'password'"));
        assert_eq!(
            code(client_credentials(&form(&[("grant_type", "Client_Credentials")]), None)),
            ("unsupported_grant_type", 70003)
        );
    }

    #[test]
    fn missing_credentials() {
        let grant = ("grant_type", "client_credentials");
        let error = client_credentials(&form(&[grant, ("client_secret", "s")]), None).unwrap_err();
        assert_eq!((error.error, error.error_codes[0]), ("invalid_request", 900144));
        assert!(error.error_description.contains("'client_id'"));
        assert_eq!(
            code(client_credentials(&form(&[grant, ("client_id", "a")]), None)),
            ("invalid_client", 7000218)
        );
        assert_eq!(
            code(client_credentials(
                &form(&[grant, ("client_id", "a"), ("client_secret", "")]),
                None
            )),
            ("invalid_client", 7000218)
        );
        assert_eq!(
            code(client_credentials(&form(&[grant]), None)),
            ("invalid_request", 900144)
        );
    }

    #[test]
    fn credentials_in_two_places_are_refused() {
        let header = basic("a", "s");
        let result = client_credentials(
            &form(&[("grant_type", "client_credentials"), ("client_secret", "s")]),
            Some(&header),
        );
        assert_eq!(code(result), ("invalid_request", 9002313));
    }

    #[test]
    fn repeated_parameters_are_refused() {
        for name in ["grant_type", "client_id", "client_secret", "scope"] {
            let mut pairs = form(&[
                ("grant_type", "client_credentials"),
                ("client_id", "a"),
                ("client_secret", "s"),
                ("scope", "x"),
            ]);
            pairs.push((name.to_string(), "again".to_string()));
            let error = client_credentials(&pairs, None).unwrap_err();
            assert_eq!(error.error, "invalid_request");
            assert!(error.error_description.contains(name), "{name}");
        }
    }

    #[test]
    fn bad_basic_headers() {
        let grant = form(&[("grant_type", "client_credentials")]);
        for header in [
            "Bearer abc".to_string(),
            "Basic".to_string(),
            "Basic !!!notbase64".to_string(),
            format!("Basic {}", STANDARD.encode([0xff, 0xfe, b':', b'x'])),
            format!("Basic {}", STANDARD.encode("no-colon")),
            format!("Basic {}", STANDARD.encode(":secret")),
            format!("Basic {}", STANDARD.encode("id:")),
            format!("Basic {}", STANDARD.encode("id:%ff")),
        ] {
            assert_eq!(
                code(client_credentials(&grant, Some(&header))),
                ("invalid_request", 9002313),
                "{header}"
            );
        }
    }

    #[test]
    fn debug_redacts_the_secret() {
        let parsed = client_credentials(
            &form(&[
                ("grant_type", "client_credentials"),
                ("client_id", "a"),
                ("client_secret", "hunter2"),
            ]),
            None,
        )
        .unwrap();
        assert!(!format!("{parsed:?}").contains("hunter2"));
    }
}
