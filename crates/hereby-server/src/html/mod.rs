//! What every HTML output shares, the web UI and the public status page alike: the compiled
//! templates and the Markdown, escaping and time helpers ([`render`]), the hardening headers
//! every page carries, and the error page.

pub(crate) mod charts;
pub(crate) mod render;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

use crate::error::ApiError;

/// Headers every page carries: no framing, no sniffing, scripts only from this server.
pub(crate) fn harden(response: &mut Response) {
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
             connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
}

/// A page that could not be shown: a status and a sentence for the person reading it.
#[derive(Debug)]
pub struct PageError {
    status: StatusCode,
    message: String,
}

impl PageError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
        }
    }

    pub(crate) fn not_found() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "There is nothing here: the page does not exist, or you may not see it.",
        )
    }
}

impl From<ApiError> for PageError {
    fn from(error: ApiError) -> Self {
        if error.status == StatusCode::NOT_FOUND {
            return Self::not_found();
        }
        Self::new(error.status, error.message)
    }
}

impl From<hereby_app::AppError> for PageError {
    fn from(error: hereby_app::AppError) -> Self {
        ApiError::from(error).into()
    }
}

impl From<minijinja::Error> for PageError {
    fn from(error: minijinja::Error) -> Self {
        tracing::error!(%error, "a page template failed");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "This page could not be drawn. The error is in the server log.",
        )
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let title = self.status.canonical_reason().unwrap_or("Error").to_owned();
        let body = render::templates()
            .get_template("error.html")
            .and_then(|template| {
                template.render(minijinja::context! {
                    title => &title,
                    message => &self.message,
                    status => self.status.as_u16(),
                })
            })
            .unwrap_or_else(|_| {
                format!(
                    "<!doctype html><title>{}</title><p>{}</p>",
                    render::escape(&title),
                    render::escape(&self.message)
                )
            });
        let mut response = (self.status, Html(body)).into_response();
        harden(&mut response);
        response
    }
}

/// An HTML page with the hardening headers.
pub(crate) fn page(status: StatusCode, body: String) -> Response {
    let mut response = (status, Html(body)).into_response();
    harden(&mut response);
    response
}
