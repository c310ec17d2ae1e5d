//! Cross-site request refusal for requests a cookie authenticates: the
//! browser attaches the cookie whoever made the request, so a state change
//! must come from this origin. Bearer requests are exempt: no browser adds
//! a bearer token on its own.

use axum::http::{header, HeaderMap, Method};

/// Whether a cookie-authenticated request must be refused: it changes state
/// (anything but GET, HEAD, OPTIONS) and the browser says it came from
/// another site (`Sec-Fetch-Site`), or, without that header, its `Origin`
/// is not this host.
pub fn refused(method: &Method, headers: &HeaderMap) -> bool {
    if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return false;
    }
    if let Some(site) = headers.get("sec-fetch-site") {
        // `same-site` is refused too: a sibling subdomain is another
        // origin, and SameSite cookies still go there.
        return !matches!(site.to_str(), Ok("same-origin" | "none"));
    }
    match headers.get(header::ORIGIN).map(|o| o.to_str()) {
        // Not from a browser page (a script, curl): nothing forged it.
        None => false,
        Some(Ok(origin)) => {
            let origin_host = origin.split_once("://").map(|(_, rest)| rest);
            let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
            origin_host.is_none() || origin_host != host
        }
        Some(Err(_)) => true,
    }
}

/// Whether the request names this machine in `Host` (`localhost`,
/// `127.x.x.x`, `[::1]`, any port), as every request to a server that
/// listens on loopback does unless a page led the browser there under
/// another name. A request without `Host` (HTTP/1.0) is taken as local.
pub fn loopback_host(headers: &HeaderMap) -> bool {
    let Some(host) = headers.get(header::HOST) else {
        return true;
    };
    let Ok(host) = host.to_str() else {
        return false;
    };
    let name = match host.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(""),
        None => host.rsplit_once(':').map_or(host, |(name, _)| name),
    };
    name.eq_ignore_ascii_case("localhost")
        || name
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn cross_site_state_changes_are_refused() {
        let post = Method::POST;
        assert!(!refused(
            &Method::GET,
            &headers(&[("sec-fetch-site", "cross-site")])
        ));
        assert!(refused(
            &post,
            &headers(&[("sec-fetch-site", "cross-site")])
        ));
        assert!(refused(&post, &headers(&[("sec-fetch-site", "same-site")])));
        assert!(!refused(
            &post,
            &headers(&[("sec-fetch-site", "same-origin")])
        ));
        assert!(!refused(&post, &headers(&[("sec-fetch-site", "none")])));
        let same = headers(&[("origin", "http://a.test:3000"), ("host", "a.test:3000")]);
        assert!(!refused(&post, &same));
        let other = headers(&[("origin", "http://evil.test"), ("host", "a.test:3000")]);
        assert!(refused(&post, &other));
        assert!(refused(
            &post,
            &headers(&[("origin", "null"), ("host", "a.test")])
        ));
        assert!(!refused(&post, &headers(&[("host", "a.test")])));
    }

    #[test]
    fn only_names_of_this_machine_are_loopback() {
        for ok in [
            "127.0.0.1:3000",
            "localhost",
            "LOCALHOST:80",
            "[::1]:3000",
            "127.0.0.2",
        ] {
            assert!(loopback_host(&headers(&[("host", ok)])), "{ok}");
        }
        for bad in [
            "evil.test:3000",
            "10.0.0.1",
            "[2001:db8::1]:3000",
            "localhost.evil.test",
        ] {
            assert!(!loopback_host(&headers(&[("host", bad)])), "{bad}");
        }
        assert!(loopback_host(&HeaderMap::new()));
    }
}
