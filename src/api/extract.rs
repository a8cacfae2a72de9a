//! axum's `Query` and `Json` with rejections in the service's error body, so that a malformed
//! query string or body is answered like every other error (docs/api.md), not in plain text.

use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, OptionalFromRequest, Query, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use serde::de::DeserializeOwned;

use super::AppState;
use super::error::ApiError;

/// The client's address: the peer's or, for a request from a trusted reverse proxy
/// (`[server] trusted_proxies`), the address the proxies appended last to `X-Forwarded-For`
/// that is not itself one of them. `None` when the router runs without connection info.
pub struct ClientAddress(pub Option<IpAddr>);

impl FromRequestParts<AppState> for ClientAddress {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Infallible> {
        // A server listening on [::] sees IPv4 clients as ::ffff:a.b.c.d.
        let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|ConnectInfo(peer)| peer.ip().to_canonical());
        Ok(Self(peer.map(|peer| client_address(peer, &parts.headers, &state.config.trusted_proxies))))
    }
}

fn client_address(peer: IpAddr, headers: &HeaderMap, trusted_proxies: &[IpAddr]) -> IpAddr {
    if !trusted_proxies.contains(&peer) {
        return peer;
    }
    // Each proxy appends the address it was called from; anything left of the first address
    // that is not a trusted proxy came from the client and proves nothing.
    let hops: Vec<&str> = headers.get_all("x-forwarded-for").iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(',')).collect();
    for hop in hops.iter().rev() {
        match hop.trim().parse::<IpAddr>().map(|address| address.to_canonical()) {
            Ok(address) if trusted_proxies.contains(&address) => continue,
            Ok(address) => return address,
            // A garbled header: a misconfigured proxy, not a client to believe.
            Err(_) => return peer,
        }
    }
    peer
}

/// A query string; a value that does not parse is `400 invalid_query`.
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let Query(value) = Query::from_request_parts(parts, state).await.map_err(query_error)?;
        Ok(Self(value))
    }
}

/// A JSON body. Its rejections keep axum's statuses (400 syntax, 413 size, 415 content type,
/// 422 shape) with codes of their own.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        let axum::Json(value) = <axum::Json<T> as FromRequest<S>>::from_request(request, state).await.map_err(json_error)?;
        Ok(Self(value))
    }
}

/// An optional JSON body: none without a JSON content type, an error when one does not parse.
impl<T: DeserializeOwned, S: Send + Sync> OptionalFromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Option<Self>, ApiError> {
        let body = <axum::Json<T> as OptionalFromRequest<S>>::from_request(request, state).await.map_err(json_error)?;
        Ok(body.map(|axum::Json(value)| Self(value)))
    }
}

fn query_error(rejection: QueryRejection) -> ApiError {
    ApiError::bad_request("invalid_query", rejection.body_text())
}

fn json_error(rejection: JsonRejection) -> ApiError {
    let status = rejection.status();
    let code = match status {
        StatusCode::PAYLOAD_TOO_LARGE => "too_large",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "wrong_content_type",
        _ => "invalid_json",
    };
    ApiError::new(status, code, rejection.body_text())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_client_is_the_last_address_no_trusted_proxy_added() {
        let ip = |text: &str| text.parse::<IpAddr>().unwrap();
        let proxies = [ip("10.0.0.2"), ip("10.0.0.3")];
        let forwarded = |value: &str| {
            let mut headers = HeaderMap::new();
            headers.insert("x-forwarded-for", value.parse().unwrap());
            headers
        };
        let none = HeaderMap::new();
        assert_eq!(client_address(ip("192.0.2.9"), &forwarded("203.0.113.5"), &proxies), ip("192.0.2.9"), "not a proxy: its header is ignored");
        assert_eq!(client_address(ip("10.0.0.2"), &forwarded("203.0.113.5"), &proxies), ip("203.0.113.5"));
        assert_eq!(client_address(ip("10.0.0.2"), &forwarded("1.2.3.4, 203.0.113.5, 10.0.0.3"), &proxies), ip("203.0.113.5"), "what the client wrote itself is left of it");
        assert_eq!(client_address(ip("10.0.0.2"), &forwarded("2001:db8::7"), &proxies), ip("2001:db8::7"));
        assert_eq!(client_address(ip("10.0.0.2"), &forwarded("203.0.113.5, junk"), &proxies), ip("10.0.0.2"));
        assert_eq!(client_address(ip("10.0.0.2"), &none, &proxies), ip("10.0.0.2"));
        assert_eq!(client_address(ip("10.0.0.2"), &forwarded("::ffff:203.0.113.5, ::ffff:10.0.0.3"), &proxies), ip("203.0.113.5"));
    }
}
