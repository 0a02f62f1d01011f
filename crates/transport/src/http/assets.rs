//! The page, its script and its style, compiled into the binary.

use axum::{
    extract::Path,
    http::{StatusCode, header},
    response::{Html, IntoResponse, Response},
};

const INDEX: &str = include_str!("assets/index.html");
const LOGIN: &str = include_str!("assets/login.html");
const LOGIN_SCRIPT: &str = include_str!("assets/login.js");
const SCRIPT: &str = include_str!("assets/review.js");
const STYLE: &str = include_str!("assets/review.css");

pub async fn index() -> Html<&'static str> {
    Html(INDEX)
}

pub async fn login() -> Html<&'static str> {
    Html(LOGIN)
}

pub async fn asset(Path(file): Path<String>) -> Response {
    let (body, kind) = match file.as_str() {
        "review.js" => (SCRIPT, "text/javascript; charset=utf-8"),
        "login.js" => (LOGIN_SCRIPT, "text/javascript; charset=utf-8"),
        "review.css" => (STYLE, "text/css; charset=utf-8"),
        _ => return (StatusCode::NOT_FOUND, "no such asset").into_response(),
    };
    ([(header::CONTENT_TYPE, kind)], body).into_response()
}
