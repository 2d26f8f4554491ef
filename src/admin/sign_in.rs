//! Signing in to the review page and who is signed in: a person with their own password
//! (`commentguard users add`, [`super::people`]; no admin token needed), or anyone holding the
//! admin token when one is set (an admin, under the name they give). Every review handler asks [`session`] or [`form_session`]; a
//! person removed since they signed in is signed out at their next request, and their role
//! is read at every request, so a change of role applies at once.

use axum::extract::{Form, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Extension;
use serde::Deserialize;

use super::auth::{self, csrf_valid, Via};
use super::kit::{error_page, esc, html_page, respond, unavailable};
use super::people::verify_password;
use super::AdminState;
use crate::front_door::ClientAddr;
use crate::secret::{constant_time_eq, Secret};
use crate::store::Role;

/// The key that signs a session: the service's own session key, joined with the person's
/// password hash for a password session (a new password, `users add --replace`, ends their
/// sessions) or with the admin token for a token session (changing or removing the token ends
/// those). `None`: a token session with no admin token set, so nobody signs in that way.
pub(super) fn signing_key(state: &AdminState, via: Via, password_hash: &str) -> Option<Secret> {
    match via {
        Via::Password => Some(Secret::new(format!(
            "{}\0p\0{password_hash}",
            state.session_key.expose()
        ))),
        Via::Token => state
            .settings
            .admin_token
            .as_ref()
            .map(|t| Secret::new(format!("{}\0t\0{}", state.session_key.expose(), t.expose()))),
    }
}

fn login_page(status: StatusCode, message: Option<&str>) -> Response {
    let msg = message
        .map(|m| format!("<p class=\"error\" role=\"alert\">{}</p>", esc(m)))
        .unwrap_or_default();
    respond(
        status,
        html_page("Sign in",
            &format!(
                "<h2>Sign in</h2>{msg}<form method=\"post\" action=\"/review/login\" class=\"stacked\">\
                 <label>Your name<input type=\"text\" name=\"name\" id=\"name\" autocomplete=\"username\" maxlength=\"60\" placeholder=\"shown with everything you do here\"></label>\
                 <label>Your password<input type=\"password\" name=\"token\" id=\"token\" autocomplete=\"current-password\" required></label>\
                 <p><button type=\"submit\" id=\"sign-in\" class=\"primary\">Sign in</button></p></form>"
            ),
        ),
    )
}

pub(super) async fn login_form() -> Response {
    login_page(StatusCode::OK, None)
}

#[derive(Deserialize)]
pub(super) struct LoginForm {
    token: String,
    #[serde(default)]
    name: String,
}

pub use crate::moderation::people::person_name;

pub(super) async fn login(
    State(state): State<AdminState>,
    client: Option<Extension<ClientAddr>>,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    let name = person_name(&form.name);
    let address = client.map(|Extension(c)| c.client(&headers));
    let blocked = state.sign_ins.check(&name).and(match address {
        Some(a) => state.sign_ins.check_address(a),
        None => Ok(()),
    });
    if let Err(wait) = blocked {
        metrics::counter!("commentguard_admin_auth_failures_total", "surface" => "review")
            .increment(1);
        return login_page(
            StatusCode::TOO_MANY_REQUESTS,
            Some(&format!(
                "Too many failed sign-ins for this name or from this address. Try again in {} minutes.",
                wait.as_secs().div_ceil(60).max(1)
            )),
        );
    }
    let password = form.token.trim().to_string();
    let person = match state.store.person(&name).await {
        Ok(p) => p,
        Err(e) => {
            tracing::warn!(error = %e, "review sign-in: the people table did not answer");
            None
        }
    };
    let password_hash = person
        .as_ref()
        .map(|p| p.password_hash.clone())
        .unwrap_or_default();
    let password_ok = match &person {
        Some(p) => {
            let (password, hash) = (password.clone(), p.password_hash.clone());
            tokio::task::spawn_blocking(move || verify_password(&password, &hash))
                .await
                .unwrap_or(false)
        }
        None => false,
    };
    let token_ok = state
        .settings
        .admin_token
        .as_ref()
        .is_some_and(|t| constant_time_eq(password.as_bytes(), t));
    let via = if password_ok {
        Some(Via::Password)
    } else if token_ok {
        Some(Via::Token)
    } else {
        None
    };
    let Some(via) = via else {
        state.sign_ins.failed(&name);
        if let Some(a) = address {
            state.sign_ins.failed_from(a);
        }
        metrics::counter!("commentguard_admin_auth_failures_total", "surface" => "review")
            .increment(1);
        tracing::warn!(person = %name, "review page sign-in refused: wrong password or token");
        // Slows down guessing; the limiter stops it after a few tries.
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        let nobody = matches!(state.store.list_people().await, Ok(p) if p.is_empty());
        let message = if nobody && state.settings.admin_token.is_none() {
            "Nobody can sign in yet: add yourself with `commentguard users add YOUR-NAME` (it asks for a password), then sign in here."
        } else {
            "That name and password do not match."
        };
        return login_page(StatusCode::UNAUTHORIZED, Some(message));
    };
    let Some(key) = signing_key(&state, via, &password_hash) else {
        return login_page(
            StatusCode::UNAUTHORIZED,
            Some("That name and password do not match."),
        );
    };
    state.sign_ins.succeeded(&name);
    tracing::info!(person = %name, via = via.as_str(), "review page sign-in");
    let session = auth::new_session(&key, &name, via);
    let mut resp = Redirect::to("/review").into_response();
    if let Ok(v) = HeaderValue::from_str(&auth::session_cookie(&session, &headers)) {
        resp.headers_mut().insert(header::SET_COOKIE, v);
    }
    resp
}

pub(super) async fn logout() -> Response {
    let mut resp = Redirect::to("/review/login").into_response();
    if let Ok(v) = HeaderValue::from_str(&auth::clear_cookie()) {
        resp.headers_mut().insert(header::SET_COOKIE, v);
    }
    resp
}

/// Who is signed in, and with what key their forms are signed.
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub key: Secret,
    pub session: String,
    pub person: String,
    pub role: Role,
}

/// The request's session, or the response for a visitor without a valid one (the sign-in
/// page; a person removed since is sent there too).
pub(super) async fn session(
    state: &AdminState,
    headers: &HeaderMap,
) -> Result<SignedIn, Box<Response>> {
    let to_sign_in = || {
        let mut resp = Redirect::to("/review/login").into_response();
        if let Ok(v) = HeaderValue::from_str(&auth::clear_cookie()) {
            resp.headers_mut().insert(header::SET_COOKIE, v);
        }
        Box::new(resp)
    };
    // The cookie says who and how; its MAC, under the key for that person and way, says
    // whether to believe it.
    for session in auth::session_cookies(headers) {
        let person = auth::session_person(&session);
        let via = auth::session_via(&session);
        let (role, hash) = match via {
            Via::Token => (Role::Admin, String::new()),
            Via::Password => match state.store.person(&person).await {
                Ok(Some(p)) => (p.role, p.password_hash),
                Ok(None) => continue,
                Err(e) => {
                    tracing::warn!(error = %e, "review page: the people table did not answer");
                    return Err(Box::new(unavailable()));
                }
            },
        };
        let Some(key) = signing_key(state, via, &hash) else {
            continue;
        };
        if auth::session_valid(&key, &session) {
            return Ok(SignedIn {
                key,
                session,
                person,
                role,
            });
        }
    }
    Err(to_sign_in())
}

/// [`session`] for a form post: its CSRF token must have been made for this session.
pub(super) async fn form_session(
    state: &AdminState,
    headers: &HeaderMap,
    csrf: &str,
) -> Result<SignedIn, Box<Response>> {
    let signed = session(state, headers).await?;
    if !csrf_valid(&signed.key, &signed.session, csrf) {
        tracing::warn!("review form refused: bad CSRF token");
        return Err(Box::new(error_page(
            StatusCode::FORBIDDEN,
            "This form has expired or did not come from the review page. Reload and try again.",
        )));
    }
    Ok(signed)
}

/// [`session`] for a page only admins may see: a reviewer gets a plain 403 page.
pub(super) async fn admin_session(
    state: &AdminState,
    headers: &HeaderMap,
) -> Result<SignedIn, Box<Response>> {
    let signed = session(state, headers).await?;
    if signed.role != Role::Admin {
        tracing::info!(person = %signed.person, "review page: a reviewer asked for an admin page");
        return Err(Box::new(error_page(
            StatusCode::FORBIDDEN,
            "This page is for admins. Ask an admin to run `commentguard users add YOUR-NAME --role admin --replace`.",
        )));
    }
    Ok(signed)
}
