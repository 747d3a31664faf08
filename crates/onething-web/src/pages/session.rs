//! Cookie sessions and CSRF. The session cookie holds a bearer token of the service (`Service::login`; stored
//! only as its SHA-256), HttpOnly, SameSite=Lax, Path=/, and Secure unless the page is served over plain
//! http on a loopback address. A web session lives at most [`WEB_SESSION_HOURS`]; signing out revokes it.
//!
//! Every form carries a CSRF token derived from the session token (SHA-256 of `csrf:` + token, hex); before
//! sign-in it is derived from a random pre-session cookie. Every POST is checked (form field `_csrf`, or the
//! `X-CSRF-Token` header that htmx sends).

use std::collections::HashMap;

use askama::Template;
use axum::extract::{FromRequest, FromRequestParts, Multipart, Path, Query, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use onething_service::{AuthError, Role, User};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::i18n::{Lang, Tr};
use super::{Ctx, PageError, PageResult, error_page, html_status, see_other};
use crate::AppState;

pub const SESSION_COOKIE: &str = "ot_session";
pub const PRE_COOKIE: &str = "ot_pre";
pub const LANG_COOKIE: &str = "ot_lang";
/// How long a web session lasts (a working day), however long the token would live.
pub const WEB_SESSION_HOURS: i64 = 10;

/// The cookies of a request.
pub fn cookies(headers: &HeaderMap) -> HashMap<String, String> {
    let mut out = HashMap::new();
    for v in headers.get_all(header::COOKIE) {
        let Ok(v) = v.to_str() else { continue };
        for pair in v.split(';') {
            if let Some((k, val)) = pair.split_once('=') {
                out.entry(k.trim().to_string()).or_insert_with(|| val.trim().to_string());
            }
        }
    }
    out
}

fn sha_hex(s: &str) -> String {
    onething_store::hex(&Sha256::digest(s.as_bytes()))
}

/// The CSRF token of a session token.
pub fn csrf_of(token: &str) -> String {
    sha_hex(&format!("csrf:{token}"))
}

fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The language of a request: the switch's cookie, else `Accept-Language`, else zh-CN.
pub fn lang_of(headers: &HeaderMap, cookies: &HashMap<String, String>) -> Lang {
    if let Some(l) = cookies.get(LANG_COOKIE).and_then(|v| Lang::parse(v)) {
        return l;
    }
    Lang::negotiate(headers.get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()).unwrap_or(""))
}

/// Whether cookies must be Secure: always, except for plain http on a loopback host (development, tests).
pub fn secure(headers: &HeaderMap) -> bool {
    let forwarded_https =
        headers.get("x-forwarded-proto").and_then(|v| v.to_str().ok()).is_some_and(|p| p.eq_ignore_ascii_case("https"));
    if forwarded_https {
        return true;
    }
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or("");
    let name = if host.starts_with('[') {
        host.split(']').next().map(|h| format!("{h}]")).unwrap_or_default()
    } else {
        host.split(':').next().unwrap_or("").to_string()
    };
    !(name == "localhost" || name == "[::1]" || name.starts_with("127."))
}

fn random_hex() -> Option<String> {
    let mut buf = [0u8; 32];
    getrandom::fill(&mut buf).ok()?;
    Some(onething_store::hex(&buf))
}

/// Who reads a page, in which language, with which CSRF token.
#[derive(Clone)]
pub struct Session {
    pub st: AppState,
    pub user: Option<User>,
    pub token: Option<String>,
    pub lang: Lang,
    pub csrf: String,
    /// The pre-session value to set as a cookie (on the sign-in page, when there is none yet).
    pub new_pre: Option<String>,
    pub secure: bool,
    /// The path and query of the request.
    pub path: String,
    /// An htmx request (answer with a fragment).
    pub hx: bool,
    /// The signed-in user's unread notices (for the navigation badge; read for full-page GETs only).
    pub unread: i64,
    /// The request's Host, when it is a plain host name or address (for links printed on paper, e.g. the
    /// receipt's QR code).
    pub host: String,
}

impl FromRequestParts<AppState> for Session {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let jar = cookies(&parts.headers);
        let lang = lang_of(&parts.headers, &jar);
        let mut user = None;
        let mut token = None;
        if let Some(t) = jar.get(SESSION_COOKIE).filter(|t| !t.is_empty() && t.len() <= 256) {
            match state.service.authenticate(t).await {
                Ok(u) => {
                    user = Some(u);
                    token = Some(t.clone());
                }
                Err(AuthError::Unauthenticated) => {}
                Err(e) => tracing::error!(error = %e, "reading a web session"),
            }
        }
        let mut new_pre = None;
        let csrf = match (&token, jar.get(PRE_COOKIE).filter(|p| p.len() == 64)) {
            (Some(t), _) => csrf_of(t),
            (None, Some(pre)) => csrf_of(&format!("pre:{pre}")),
            (None, None) => match random_hex() {
                Some(pre) => {
                    let c = csrf_of(&format!("pre:{pre}"));
                    new_pre = Some(pre);
                    c
                }
                None => String::new(),
            },
        };
        let path = parts.uri.path_and_query().map_or_else(|| parts.uri.path().to_string(), |p| p.as_str().to_string());
        let hx = parts.headers.contains_key("hx-request");
        let mut unread = 0;
        if let Some(u) = user.as_ref().filter(|_| parts.method == axum::http::Method::GET && !hx) {
            match state.service.unread_notices(u).await {
                Ok(n) => unread = n,
                Err(e) => tracing::error!(error = %e, "counting unread notices"),
            }
        }
        Ok(Session {
            st: state.clone(),
            user,
            token,
            lang,
            csrf,
            new_pre,
            secure: secure(&parts.headers),
            path,
            hx,
            unread,
            host: host_of(&parts.headers),
        })
    }
}

/// The Host header if it is a host name or address with an optional port, else `localhost`.
fn host_of(headers: &HeaderMap) -> String {
    headers
        .get(axum::http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| {
            !h.is_empty() && h.len() <= 255 && h.bytes().all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
        })
        .unwrap_or("localhost")
        .to_string()
}

impl Session {
    /// Where this server is, as the browser reached it: `https://host` or `http://host`.
    pub fn origin(&self) -> String {
        format!("{}://{}", if self.secure { "https" } else { "http" }, self.host)
    }

    pub fn t(&self) -> Tr {
        Tr::new(self.lang)
    }

    pub fn ctx(&self) -> Ctx {
        let path = self.path.split('?').next().unwrap_or("/");
        let names = super::view::Names { catalog: self.st.service.catalog(), t: self.t() };
        let department =
            self.user.as_ref().and_then(|u| u.department.as_deref()).map(|d| names.department(d)).unwrap_or_default();
        let mut c = Ctx::new(self.lang, self.user.as_ref(), &self.csrf, path, &department);
        c.unread = self.unread;
        c
    }

    /// The signed-in user, or a redirect to the sign-in page.
    pub fn user(&self) -> Result<&User, PageError> {
        self.user.as_ref().ok_or(PageError::SignIn)
    }

    /// The signed-in user with one of the roles, else a "forbidden" page.
    pub fn with_role(&self, roles: &[Role]) -> Result<&User, PageError> {
        let u = self.user()?;
        if roles.iter().any(|r| u.has(*r)) { Ok(u) } else { Err(PageError::Code(StatusCode::FORBIDDEN, "forbidden")) }
    }

    fn cookie(&self, name: &str, value: &str, max_age: i64, http_only: bool) -> HeaderValue {
        let mut c = format!("{name}={value}; Path=/; SameSite=Lax; Max-Age={max_age}");
        if http_only {
            c.push_str("; HttpOnly");
        }
        if self.secure {
            c.push_str("; Secure");
        }
        HeaderValue::from_str(&c).unwrap_or_else(|_| HeaderValue::from_static("x=; Max-Age=0"))
    }

    /// Turns a page's outcome into the response: errors become pages in the reader's language.
    pub fn finish(&self, result: PageResult) -> Response {
        let mut resp = match result {
            Ok(r) => r,
            Err(e) => self.error(e),
        };
        if let Some(pre) = &self.new_pre {
            resp.headers_mut().append(header::SET_COOKIE, self.cookie(PRE_COOKIE, pre, 60 * 60 * 24, true));
        }
        resp
    }

    pub fn error(&self, e: PageError) -> Response {
        match e {
            PageError::SignIn => {
                let next = super::view::url_encode(&self.path);
                see_other(&format!("/login?next={next}"))
            }
            PageError::Code(status, code) => error_page(self.ctx(), status, code),
            PageError::Service(api) => {
                if api.code == "unauthenticated" {
                    return self.error(PageError::SignIn);
                }
                error_page(self.ctx(), api.status, api.code)
            }
        }
    }
}

/// The fields and files of a posted form (urlencoded or multipart), with the CSRF token checked.
pub struct Posted {
    pub session: Session,
    pub fields: Vec<(String, String)>,
    pub files: Vec<(String, Vec<u8>)>,
}

impl Posted {
    /// The first value of a field ("" when absent).
    pub fn get(&self, name: &str) -> &str {
        self.fields.iter().find(|(k, _)| k == name).map_or("", |(_, v)| v.as_str())
    }

    pub fn file(&self, name: &str) -> Option<&[u8]> {
        self.files.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_slice())
    }
}

impl FromRequest<AppState> for Posted {
    type Rejection = Response;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = req.into_parts();
        let Ok(session) = Session::from_request_parts(&mut parts, state).await;
        let header_token =
            parts.headers.get("x-csrf-token").and_then(|v| v.to_str().ok()).map(str::to_string).unwrap_or_default();
        let content_type =
            parts.headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_ascii_lowercase();
        let req = Request::from_parts(parts, body);
        let mut fields = Vec::new();
        let mut files = Vec::new();
        if content_type.starts_with("multipart/form-data") {
            let mut mp = Multipart::from_request(req, state)
                .await
                .map_err(|_| session.error(PageError::Code(StatusCode::BAD_REQUEST, "bad_request_body")))?;
            loop {
                match mp.next_field().await {
                    Ok(Some(field)) => {
                        let name = field.name().unwrap_or("").to_string();
                        let is_file = field.file_name().is_some();
                        let bytes = field.bytes().await.map_err(|e| {
                            let code = if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                                (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large")
                            } else {
                                (StatusCode::BAD_REQUEST, "bad_request_body")
                            };
                            session.error(PageError::Code(code.0, code.1))
                        })?;
                        if is_file {
                            files.push((name, bytes.to_vec()));
                        } else {
                            fields.push((name, String::from_utf8_lossy(&bytes).into_owned()));
                        }
                    }
                    Ok(None) => break,
                    Err(e) => {
                        let code = if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                            (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large")
                        } else {
                            (StatusCode::BAD_REQUEST, "bad_request_body")
                        };
                        return Err(session.error(PageError::Code(code.0, code.1)));
                    }
                }
            }
        } else {
            let axum::Form(f) = axum::Form::<Vec<(String, String)>>::from_request(req, state)
                .await
                .map_err(|_| session.error(PageError::Code(StatusCode::BAD_REQUEST, "bad_request_body")))?;
            fields = f;
        }
        let posted = Posted { session, fields, files };
        let given = if header_token.is_empty() { posted.get("_csrf").to_string() } else { header_token };
        if posted.session.csrf.is_empty() || !same(&given, &posted.session.csrf) {
            return Err(posted.session.error(PageError::Code(StatusCode::FORBIDDEN, "csrf")));
        }
        Ok(posted)
    }
}

/// A local path to go back to (never another site).
pub fn safe_next(next: &str) -> Option<&str> {
    let ok = next.starts_with('/') && !next.starts_with("//") && !next.starts_with("/\\") && !next.contains("://");
    ok.then_some(next)
}

/// Where a user starts after signing in.
pub fn home_of(user: &User) -> &'static str {
    if user.has(Role::Clerk) {
        "/clerk"
    } else if user.has(Role::Officer) {
        "/officer"
    } else if user.has(Role::Supervisor) || user.has(Role::Admin) {
        "/supervisor"
    } else {
        "/"
    }
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    c: Ctx,
    next: String,
    username: String,
    error: String,
}

#[derive(Deserialize)]
pub struct NextQuery {
    next: Option<String>,
}

pub async fn login_page(s: Session, Query(q): Query<HashMap<String, String>>) -> Response {
    let next = q.get("next").and_then(|n| safe_next(n)).unwrap_or("").to_string();
    if let Some(u) = &s.user {
        let to = if next.is_empty() { home_of(u).to_string() } else { next };
        return see_other(&to);
    }
    let page = LoginPage { c: s.ctx(), next, username: String::new(), error: String::new() };
    s.finish(Ok(super::html(&page)))
}

pub async fn login(State(st): State<AppState>, p: Posted) -> Response {
    let s = &p.session;
    let username = p.get("username").trim().to_string();
    let next = safe_next(p.get("next")).unwrap_or("").to_string();
    match st.service.login_web(&username, p.get("password")).await {
        Ok((token, user)) => {
            let to = if next.is_empty() { home_of(&user).to_string() } else { next };
            let mut resp = see_other(&to);
            let max_age = WEB_SESSION_HOURS * 3600;
            resp.headers_mut().append(header::SET_COOKIE, s.cookie(SESSION_COOKIE, &token, max_age, true));
            resp
        }
        Err(AuthError::BadCredentials) => {
            let error = s.t().s("login.bad_credentials").to_string();
            let page = LoginPage { c: s.ctx(), next, username, error };
            html_status(&page, StatusCode::UNAUTHORIZED)
        }
        Err(e) => s.error(e.into()),
    }
}

pub async fn logout(State(st): State<AppState>, p: Posted) -> Response {
    let s = &p.session;
    if let Some(token) = &s.token
        && let Err(e) = st.service.logout(token).await
    {
        return s.error(e.into());
    }
    let mut resp = see_other("/login");
    resp.headers_mut().append(header::SET_COOKIE, s.cookie(SESSION_COOKIE, "", 0, true));
    resp
}

pub async fn switch_lang(s: Session, Path(code): Path<String>, Query(q): Query<NextQuery>) -> Response {
    let Some(lang) = Lang::parse(&code) else {
        return s.error(PageError::Code(StatusCode::NOT_FOUND, "not_found"));
    };
    let next = q.next.as_deref().and_then(safe_next).unwrap_or("/");
    let mut resp = see_other(next);
    resp.headers_mut().append(header::SET_COOKIE, s.cookie(LANG_COOKIE, lang.code(), 60 * 60 * 24 * 365, false));
    resp
}

/// Outside the API, an error answered as JSON (e.g. the router's "not found") becomes a page in the reader's
/// language: a person never sees raw JSON.
pub async fn html_errors(State(st): State<AppState>, req: Request, next: Next) -> Response {
    let path = req.uri().path().to_string();
    let page_path = !(path.starts_with("/api/") || path == "/healthz" || path == "/metrics");
    let headers = req.headers().clone();
    let resp = next.run(req).await;
    let is_json = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !page_path || !is_json || resp.status().is_success() {
        return resp;
    }
    let status = resp.status();
    let body = axum::body::to_bytes(resp.into_body(), 64 * 1024).await.unwrap_or_default();
    let code = serde_json::from_slice::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| v.get("code").and_then(|c| c.as_str()).map(str::to_string))
        .unwrap_or_else(|| "not_found".to_string());
    let code = onething_service::ErrorCode::ALL.iter().map(|c| c.as_str()).find(|c| *c == code).unwrap_or("internal");
    let jar = cookies(&headers);
    let lang = lang_of(&headers, &jar);
    let _ = st;
    let c = Ctx::new(lang, None, "", &path, "");
    error_page(c, status, code).into_response()
}
