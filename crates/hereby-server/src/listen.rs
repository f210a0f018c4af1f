//! Accepting connections: a header (and idle) timeout, a cap on the connections one client
//! address may hold open, and a graceful stop.
//!
//! Without them a client that opens sockets and sends nothing keeps them forever: a few
//! hundred such sockets from one unauthenticated address were enough to make `/healthz` time
//! out. Every connection now has to deliver a request's headers within the header timeout,
//! which also closes keep-alive connections that sit idle that long (a response being
//! written, such as a live stream, is not idle). A reverse proxy carries many people's
//! connections from one address, so trusted proxies are exempt from the per-address cap.

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tower::Service;

/// How long in-flight requests may run after a stop was asked for; live streams never end by
/// themselves, so they are cut off then.
const DRAIN: Duration = Duration::from_secs(10);

/// Limits on what one connection, and one client address, may hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// A client must send a request's headers within this time of the connection becoming
    /// ready for one; an idle keep-alive connection is closed after it.
    pub header_timeout: Duration,
    /// At most this many connections open at once from one client address; 0 for no cap.
    pub per_address: usize,
    /// Addresses of reverse proxies in front of the server: neither capped per address nor
    /// counted as one client by the sign-in throttle (which reads `X-Forwarded-For` from
    /// them instead).
    pub trusted_proxies: Vec<IpAddr>,
}

impl ConnectionLimits {
    /// Twenty seconds for a request's headers.
    pub const DEFAULT_HEADER_TIMEOUT: Duration = Duration::from_secs(20);
    /// Enough for a person with many tabs and live streams, or a busy script; far below what
    /// it takes to exhaust the server's file descriptors.
    pub const DEFAULT_PER_ADDRESS: usize = 256;
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        Self {
            header_timeout: Self::DEFAULT_HEADER_TIMEOUT,
            per_address: Self::DEFAULT_PER_ADDRESS,
            trusted_proxies: Vec::new(),
        }
    }
}

/// The open connections per client address.
#[derive(Debug, Default)]
struct OpenConnections(Mutex<HashMap<IpAddr, usize>>);

/// One open connection, counted until dropped.
struct Slot {
    open: Arc<OpenConnections>,
    address: Option<IpAddr>,
}

impl Slot {
    /// Counts a new connection from `address`, or `None` when the address already holds its
    /// share.
    fn take(
        open: &Arc<OpenConnections>,
        address: IpAddr,
        limits: &ConnectionLimits,
    ) -> Option<Self> {
        if limits.per_address == 0 || limits.trusted_proxies.contains(&address) {
            return Some(Self {
                open: open.clone(),
                address: None,
            });
        }
        let mut counts = open.0.lock().ok()?;
        let count = counts.entry(address).or_insert(0);
        if *count >= limits.per_address {
            return None;
        }
        *count += 1;
        Some(Self {
            open: open.clone(),
            address: Some(address),
        })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        if let (Some(address), Ok(mut counts)) = (self.address, self.open.0.lock())
            && let Some(count) = counts.get_mut(&address)
        {
            *count -= 1;
            if *count == 0 {
                counts.remove(&address);
            }
        }
    }
}

/// Serves `router` on `listener` until `shutdown` completes, then lets in-flight requests
/// finish for up to [`DRAIN`].
pub(crate) async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let limits = Arc::new(limits);
    let open = Arc::new(OpenConnections::default());
    let (stop, stopping) = watch::channel(false);
    let mut connections = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        let (tcp, remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors, or the peer gave up before we accepted: wait a
                    // moment rather than spin.
                    tracing::warn!(%error, "cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        while connections.try_join_next().is_some() {}
        let Some(slot) = Slot::take(&open, remote.ip(), &limits) else {
            // Closed unread: answering would cost what the cap is there to save.
            metrics::counter!("hereby_connections_refused_total", "reason" => "per_address")
                .increment(1);
            drop(tcp);
            continue;
        };
        // Responses go out as soon as they are written: without this, the last segment of a
        // large answer can wait for the client's acknowledgement of the previous ones.
        let _ = tcp.set_nodelay(true);
        let router = router.clone();
        let service = hyper::service::service_fn(
            move |mut request: hyper::Request<hyper::body::Incoming>| {
                // Handlers know the client's address (the sign-in throttle counts by it).
                request.extensions_mut().insert(ConnectInfo(remote));
                let mut router = router.clone();
                async move {
                    Ok::<_, Infallible>(
                        router
                            .call(request)
                            .await
                            .unwrap_or_else(|never| match never {}),
                    )
                }
            },
        );
        let header_timeout = limits.header_timeout;
        let mut stopping = stopping.clone();
        connections.spawn(async move {
            let _slot = slot;
            let connection = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(header_timeout)
                .serve_connection(TokioIo::new(tcp), service);
            tokio::pin!(connection);
            tokio::select! {
                _ = connection.as_mut() => {}
                () = async { drop(stopping.wait_for(|stop| *stop).await) } => {
                    connection.as_mut().graceful_shutdown();
                    let _ = connection.await;
                }
            }
        });
    }
    drop(listener);
    let _ = stop.send(true);
    let drained = tokio::time::timeout(DRAIN, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::info!(
            left = connections.len(),
            "stopping: connections still open after the drain time are closed"
        );
        connections.shutdown().await;
    }
    Ok(())
}

/// The address a request came from: the peer, or for a trusted proxy the client it names
/// last in `X-Forwarded-For` (the address the proxy itself saw).
pub(crate) fn client_address(
    peer: SocketAddr,
    headers: &axum::http::HeaderMap,
    trusted_proxies: &[IpAddr],
) -> IpAddr {
    if !trusted_proxies.contains(&peer.ip()) {
        return peer.ip();
    }
    headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .filter_map(|hop| hop.trim().parse::<IpAddr>().ok())
        .next_back()
        .unwrap_or(peer.ip())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_trusted_proxy_names_the_client() {
        let proxy: SocketAddr = "10.0.0.2:5000".parse().unwrap();
        let mut headers = axum::http::HeaderMap::new();
        headers.insert(
            "x-forwarded-for",
            "198.51.100.1, 203.0.113.7".parse().unwrap(),
        );
        let trusted = ["10.0.0.2".parse().unwrap()];
        // The last hop is the address the proxy itself saw; earlier ones are the client's
        // own claims.
        assert_eq!(
            client_address(proxy, &headers, &trusted),
            "203.0.113.7".parse::<IpAddr>().unwrap()
        );
        assert_eq!(client_address(proxy, &headers, &[]), proxy.ip());
        let bare = axum::http::HeaderMap::new();
        assert_eq!(client_address(proxy, &bare, &trusted), proxy.ip());
    }
}
