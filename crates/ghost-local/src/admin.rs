//! A small Ghost Admin API client: first-run setup, session login, posts, and Admin API key (JWT HS256) auth.
//!
//! Ghost's errors (`{"errors":[{"message","context","type"}]}`) become [`Error::Ghost`] with its message.
//! Session login needs `security__staffDeviceVerification=false` on the server (local runs set it), else
//! Ghost 5.118+ asks for an emailed code on a new device.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{KeyInit, Mac};
use reqwest::header::{HeaderMap, HeaderValue};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::error::{Error, Result};

/// How requests are authenticated.
#[derive(Clone)]
enum Auth {
    None,
    /// The `ghost-admin-api-session` cookie, as `name=value`.
    Session(String),
    /// An Admin API key `{id}:{hex secret}`.
    Key {
        id: String,
        secret: Vec<u8>,
    },
}

#[derive(Clone)]
pub struct AdminClient {
    base: String,
    http: reqwest::Client,
    auth: Auth,
}

impl std::fmt::Debug for AdminClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let auth = match self.auth {
            Auth::None => "none",
            Auth::Session(_) => "session",
            Auth::Key { .. } => "admin api key",
        };
        f.debug_struct("AdminClient").field("base", &self.base).field("auth", &auth).finish()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Post {
    pub id: String,
    pub title: String,
    #[serde(default)]
    pub slug: String,
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub html: Option<String>,
    #[serde(default)]
    pub url: Option<String>,
}

/// The owner created by setup.
#[derive(Debug, Clone)]
pub struct Owner {
    pub name: String,
    pub email: String,
    pub password: String,
    pub blog_title: String,
}

impl AdminClient {
    /// `url` is Ghost's site URL (`http://127.0.0.1:<port>`).
    pub fn new(url: &str) -> Self {
        let base = url.trim_end_matches('/').to_string();
        let mut headers = HeaderMap::new();
        // Ghost checks Origin on session-authenticated admin requests (CSRF protection).
        if let Ok(origin) = HeaderValue::from_str(&base) {
            headers.insert(reqwest::header::ORIGIN, origin);
        }
        headers.insert("Accept-Version", HeaderValue::from_static("v6.0"));
        let http = reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(30))
            .default_headers(headers)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("a plain HTTP client builds");
        Self { base, http, auth: Auth::None }
    }

    /// A client that signs each request with an Admin API key `{id}:{hex secret}`.
    pub fn with_admin_key(url: &str, key: &str) -> Result<Self> {
        let (id, hex) = key.split_once(':').ok_or_else(|| bad_key("expected {id}:{secret}"))?;
        let secret = decode_hex(hex).ok_or_else(|| bad_key("the secret is not hex"))?;
        Ok(Self { auth: Auth::Key { id: id.to_string(), secret }, ..Self::new(url) })
    }

    fn api(&self, path: &str) -> String {
        format!("{}/ghost/api/admin/{path}", self.base)
    }

    async fn send(&self, op: &str, req: reqwest::RequestBuilder) -> Result<reqwest::Response> {
        let req = match &self.auth {
            Auth::None => req,
            Auth::Session(cookie) => req.header(reqwest::header::COOKIE, cookie),
            Auth::Key { id, secret } => req.header("Authorization", format!("Ghost {}", admin_jwt(id, secret, now()))),
        };
        let resp = req.send().await.map_err(|source| Error::Http { what: op.to_string(), source })?;
        if resp.status().is_success() {
            return Ok(resp);
        }
        let status = resp.status().as_u16();
        let body = resp.text().await.unwrap_or_default();
        Err(ghost_error(op, status, &body))
    }

    async fn json(&self, op: &str, req: reqwest::RequestBuilder) -> Result<Value> {
        let resp = self.send(op, req).await?;
        resp.json().await.map_err(|source| Error::Http { what: op.to_string(), source })
    }

    /// The unauthenticated site info (title, url, version): Ghost's health probe.
    pub async fn site(&self) -> Result<Value> {
        self.json("GET site", self.http.get(self.api("site/"))).await
    }

    /// True when the site already has its owner.
    pub async fn is_setup(&self) -> Result<bool> {
        let v = self.json("GET authentication/setup", self.http.get(self.api("authentication/setup/"))).await?;
        Ok(v["setup"][0]["status"].as_bool().unwrap_or(false))
    }

    /// First-run setup: creates the owner. Ghost refuses a second setup (`setup` already done).
    pub async fn setup(&self, owner: &Owner) -> Result<()> {
        let body = json!({"setup": [{
            "name": owner.name, "email": owner.email, "password": owner.password, "blogTitle": owner.blog_title,
        }]});
        self.send("POST authentication/setup", self.http.post(self.api("authentication/setup/")).json(&body))
            .await?
            .bytes()
            .await
            .map(|_| ())
            .map_err(|source| Error::Http { what: "POST authentication/setup".into(), source })
    }

    /// Logs in and keeps the session cookie. Returns the logged-in client.
    pub async fn login(mut self, email: &str, password: &str) -> Result<Self> {
        let body = json!({"username": email, "password": password});
        let resp = self.send("POST session", self.http.post(self.api("session/")).json(&body)).await?;
        let cookie = resp
            .headers()
            .get_all(reqwest::header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|c| c.starts_with("ghost-admin-api-session="))
            .and_then(|c| c.split(';').next())
            .ok_or_else(|| Error::Ghost {
                op: "POST session".into(),
                status: resp.status().as_u16(),
                kind: None,
                message: "no ghost-admin-api-session cookie in the answer (is staff device verification on?)".into(),
            })?
            .to_string();
        // Ghost's session middleware (express-session) sends the headers and all but the last byte of the
        // answer *before* its session store has saved the session, and the last byte after: read the whole
        // answer, or the next request can race the save and be refused as unauthenticated.
        resp.bytes().await.map_err(|source| Error::Http { what: "POST session".into(), source })?;
        self.auth = Auth::Session(cookie);
        Ok(self)
    }

    /// Setup when needed, then login: what a fresh local site needs before anything else.
    pub async fn setup_and_login(self, owner: &Owner) -> Result<Self> {
        if !self.is_setup().await? {
            self.setup(owner).await?;
        }
        self.login(&owner.email, &owner.password).await
    }

    /// Creates a custom integration and returns its Admin API key `{id}:{secret}`.
    pub async fn create_admin_key(&self, name: &str) -> Result<String> {
        let body = json!({"integrations": [{"name": name}]});
        let v = self
            .json("POST integrations", self.http.post(self.api("integrations/?include=api_keys")).json(&body))
            .await?;
        let keys = v["integrations"][0]["api_keys"].as_array().cloned().unwrap_or_default();
        let key = keys.iter().find(|k| k["type"] == "admin").ok_or_else(|| Error::Ghost {
            op: "POST integrations".into(),
            status: 200,
            kind: None,
            message: "the integration has no admin API key".into(),
        })?;
        let id = key["id"].as_str().unwrap_or_default();
        let secret = key["secret"].as_str().unwrap_or_default();
        // Ghost 6 answers the admin key's secret already as `{id}:{secret}`; older versions the bare secret.
        Ok(if secret.contains(':') { secret.to_string() } else { format!("{id}:{secret}") })
    }

    /// Creates a post from HTML (`status` `published` or `draft`).
    pub async fn create_post(&self, title: &str, html: &str, status: &str) -> Result<Post> {
        let body = json!({"posts": [{"title": title, "html": html, "status": status}]});
        let v =
            self.json("POST posts", self.http.post(self.api("posts/?source=html&formats=html")).json(&body)).await?;
        first_post("POST posts", v)
    }

    pub async fn list_posts(&self) -> Result<Vec<Post>> {
        let v = self
            .json("GET posts", self.http.get(self.api("posts/?limit=all&formats=html&filter=status:[draft,published]")))
            .await?;
        serde_json::from_value(v["posts"].clone()).map_err(|e| Error::Ghost {
            op: "GET posts".into(),
            status: 200,
            kind: None,
            message: format!("unexpected answer: {e}"),
        })
    }

    pub async fn get_post(&self, id: &str) -> Result<Post> {
        let op = format!("GET posts/{id}");
        let v = self.json(&op, self.http.get(self.api(&format!("posts/{id}/?formats=html")))).await?;
        first_post(&op, v)
    }
}

fn first_post(op: &str, v: Value) -> Result<Post> {
    serde_json::from_value(v["posts"][0].clone()).map_err(|e| Error::Ghost {
        op: op.into(),
        status: 200,
        kind: None,
        message: format!("unexpected answer: {e}"),
    })
}

fn bad_key(why: &str) -> Error {
    Error::Ghost { op: "admin API key".into(), status: 0, kind: Some("InvalidKey".into()), message: why.into() }
}

/// Ghost's error body, `{"errors":[{"message","context","type"}]}`, as a typed error.
pub fn ghost_error(op: &str, status: u16, body: &str) -> Error {
    let v: Value = serde_json::from_str(body).unwrap_or(Value::Null);
    let e = &v["errors"][0];
    let kind = e["type"].as_str().map(str::to_string);
    let mut message = e["message"].as_str().map(str::to_string).unwrap_or_else(|| body.chars().take(300).collect());
    if let Some(ctx) = e["context"].as_str() {
        message = format!("{message} ({ctx})");
    }
    Error::Ghost { op: op.into(), status, kind, message }
}

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

/// An Admin API token: HS256 JWT with `kid` = key id, `aud` = `/admin/`, valid 5 minutes.
pub fn admin_jwt(id: &str, secret: &[u8], iat: u64) -> String {
    let header = json!({"alg": "HS256", "typ": "JWT", "kid": id});
    let claims = json!({"iat": iat, "exp": iat + 300, "aud": "/admin/"});
    let signing_input =
        format!("{}.{}", URL_SAFE_NO_PAD.encode(header.to_string()), URL_SAFE_NO_PAD.encode(claims.to_string()));
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret).expect("HMAC takes any key");
    mac.update(signing_input.as_bytes());
    let sig = mac.finalize().into_bytes();
    format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(sig))
}

fn decode_hex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jwt_matches_a_known_hs256_signature() {
        // RFC 7515-style check: the signature is HMAC-SHA256 over "header.claims" with the decoded secret.
        let secret = decode_hex("00ff10").unwrap();
        assert_eq!(secret, [0, 255, 16]);
        let t = admin_jwt("kid1", &secret, 1_700_000_000);
        let parts: Vec<&str> = t.split('.').collect();
        assert_eq!(parts.len(), 3);
        let header: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).unwrap()).unwrap();
        assert_eq!(header["kid"], "kid1");
        assert_eq!(header["alg"], "HS256");
        let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
        assert_eq!(claims["aud"], "/admin/");
        assert_eq!(claims["exp"].as_u64().unwrap() - claims["iat"].as_u64().unwrap(), 300);
        // Same input, same token; another secret, another signature.
        assert_eq!(t, admin_jwt("kid1", &secret, 1_700_000_000));
        assert_ne!(t, admin_jwt("kid1", &[1, 2, 3], 1_700_000_000));
        // Known vector: HMAC-SHA256(key = "key", "The quick brown fox jumps over the lazy dog").
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(b"key").unwrap();
        mac.update(b"The quick brown fox jumps over the lazy dog");
        let hex: String = mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex, "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8");
    }

    #[test]
    fn ghost_errors_keep_their_message_and_type() {
        let body =
            r#"{"errors":[{"message":"Setup has already been completed.","context":null,"type":"NoPermissionError"}]}"#;
        let e = ghost_error("POST authentication/setup", 403, body);
        assert!(
            matches!(&e, Error::Ghost { status: 403, kind: Some(k), message, .. }
                if k == "NoPermissionError" && message.starts_with("Setup has already")),
            "{e}"
        );
        assert!(e.to_string().contains("HTTP 403"));
    }

    #[test]
    fn bad_keys_are_refused() {
        assert!(AdminClient::with_admin_key("http://127.0.0.1:1", "nocolon").is_err());
        assert!(AdminClient::with_admin_key("http://127.0.0.1:1", "id:zz").is_err());
        assert!(AdminClient::with_admin_key("http://127.0.0.1:1", "id:00ff").is_ok());
    }
}
