//! The delivery worker against a slow webhook receiver on loopback: a delivery that waits
//! for its channel's concurrency limit must not outlive its lease and be sent a second time.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hereby_server::AppState;
use hereby_server::notify::{self, Settings};
use hereby_store::{DeliveryState, NewChannel, NewDelivery, Notifications};
use hereby_store_sqlite::SqliteStore;
use jiff::Timestamp;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

/// A webhook receiver that holds every request for `hold` before answering 200, and counts
/// the requests it answered by their `Idempotency-Key`.
struct SlowReceiver {
    url: String,
    received: Arc<Mutex<HashMap<String, u32>>>,
    task: tokio::task::JoinHandle<()>,
}

impl SlowReceiver {
    async fn start(hold: Duration) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let received = Arc::new(Mutex::new(HashMap::new()));
        let counts = received.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let counts = counts.clone();
                tokio::spawn(async move {
                    let mut reader = BufReader::new(stream);
                    let mut key = String::new();
                    let mut length = 0;
                    let mut line = String::new();
                    loop {
                        line.clear();
                        if reader.read_line(&mut line).await.unwrap_or(0) == 0 {
                            return;
                        }
                        let trimmed = line.trim_end();
                        if trimmed.is_empty() {
                            break;
                        }
                        if let Some((name, value)) = trimmed.split_once(':') {
                            match name.trim().to_ascii_lowercase().as_str() {
                                "idempotency-key" => value.trim().clone_into(&mut key),
                                "content-length" => length = value.trim().parse().unwrap_or(0),
                                _ => {}
                            }
                        }
                    }
                    let mut body = vec![0; length];
                    if reader.read_exact(&mut body).await.is_err() {
                        return;
                    }
                    tokio::time::sleep(hold).await;
                    *counts.lock().unwrap().entry(key).or_insert(0) += 1;
                    let mut stream = reader.into_inner();
                    let _ = stream
                        .write_all(
                            b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                        )
                        .await;
                });
            }
        });
        Self {
            url,
            received,
            task,
        }
    }

    fn counts(&self) -> HashMap<String, u32> {
        self.received.lock().unwrap().clone()
    }
}

impl Drop for SlowReceiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deliveries_queued_behind_a_busy_channel_are_each_sent_once() {
    // Ten deliveries at 200 ms each on a channel that sends one at a time take about two
    // seconds, twice the one-second lease: claimed all at once, the later ones would wait
    // past their lease, be claimed again and be sent twice.
    let receiver = SlowReceiver::start(Duration::from_millis(200)).await;
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&format!("sqlite://{}", dir.path().join("h.db").display()))
        .await
        .unwrap();
    let now = Timestamp::now();
    let channel = store
        .create_channel(
            &NewChannel {
                name: "narrow".into(),
                kind: "webhook".into(),
                config: serde_json::json!({
                    "kind": "webhook",
                    "url": receiver.url,
                    "secret": "a-webhook-secret-of-some-length",
                })
                .to_string(),
                personal: false,
                concurrency: 1,
            },
            now,
        )
        .await
        .unwrap();
    let keys: Vec<String> = (0..10).map(|n| format!("slow-{n}")).collect();
    let queued: Vec<NewDelivery> = keys
        .iter()
        .map(|key| NewDelivery {
            key: key.clone(),
            channel_id: channel.id,
            recipient: None,
            incident: None,
            kind: "test".into(),
            subject: "Slow".into(),
            body: "body".into(),
            payload: "{}".into(),
        })
        .collect();
    assert_eq!(store.enqueue(&queued, now).await.unwrap(), 10);

    let settings = Settings {
        lease: Duration::from_secs(1),
        poll: Duration::from_millis(20),
        timeout: Duration::from_secs(5),
        ..Settings::default()
    };
    let workers = notify::start(
        AppState::new(store.clone(), hereby_core::Policy::default()),
        settings,
    );
    let started = Instant::now();
    loop {
        let delivered = store
            .deliveries(Some(DeliveryState::Delivered), 100)
            .await
            .unwrap();
        if delivered.len() == keys.len() {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "not everything was delivered: {delivered:#?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Stopping waits for every attempt still under way, so a second send of any delivery
    // would have reached the receiver by now.
    workers.stop().await;

    let counts = receiver.counts();
    for key in &keys {
        assert_eq!(
            counts.get(key),
            Some(&1),
            "{key} is sent exactly once: {counts:?}"
        );
    }
    assert_eq!(counts.len(), keys.len(), "{counts:?}");
    for delivery in store.deliveries(None, 100).await.unwrap() {
        assert_eq!(
            (delivery.state, delivery.attempts),
            (DeliveryState::Delivered, 1),
            "{}",
            delivery.key
        );
    }
}
