//! A loopback inbox standing in for remote servers in end-to-end tests
//! (delivery, ops): it answers every POST with 202 after a set latency,
//! records the path and the activity, and counts how many requests it is
//! answering at once; and the store rows that make its people followers.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{StatusCode, Uri};
use gazette_core::{FollowStatus, RemoteActor};
use gazette_store::Store;
use serde_json::Value;

/// A running loopback inbox on `http://localhost:{port}`.
pub struct Sink {
    pub port: u16,
    latency: Duration,
    /// (path, activity) of each POST, recorded when answered.
    received: Mutex<Vec<(String, Value)>>,
    /// Requests being answered now, and the most at once so far.
    in_flight: Mutex<(usize, usize)>,
}

impl Sink {
    /// Starts an inbox that answers each request `latency` after it came.
    pub async fn start(latency: Duration) -> Arc<Sink> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let sink = Arc::new(Sink {
            port: listener.local_addr().unwrap().port(),
            latency,
            received: Mutex::default(),
            in_flight: Mutex::default(),
        });
        let app = axum::Router::new()
            .fallback(axum::routing::post(answer))
            .with_state(sink.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        sink
    }

    /// What it has answered so far: (path, activity).
    pub fn received(&self) -> Vec<(String, Value)> {
        self.received.lock().unwrap().clone()
    }

    /// How many requests it has answered.
    pub fn answered(&self) -> usize {
        self.received.lock().unwrap().len()
    }

    /// How many requests it is answering now.
    pub fn in_flight(&self) -> usize {
        self.in_flight.lock().unwrap().0
    }

    /// The most requests it was answering at once.
    pub fn max_in_flight(&self) -> usize {
        self.in_flight.lock().unwrap().1
    }

    /// Makes `name` here (with an inbox of its own) an accepted follower of
    /// `local_actor`, written straight into the instance's store.
    pub async fn follower(&self, store: &Store, local_actor: &str, name: &str) {
        let id = format!("http://localhost:{}/users/{name}", self.port);
        store
            .upsert_remote_actor(&RemoteActor {
                id: id.clone(),
                kind: "Person".into(),
                preferred_username: name.into(),
                name: name.into(),
                host: format!("localhost:{}", self.port),
                inbox: format!("{id}/inbox"),
                shared_inbox: None,
                url: None,
                icon: None,
                public_key_id: format!("{id}#main-key"),
                public_key_pem: String::new(),
                moved_to: None,
                refreshed_at: chrono::Utc::now(),
            })
            .await
            .unwrap();
        store
            .add_follower(local_actor, &id, &format!("{id}/follows/1"), FollowStatus::Accepted)
            .await
            .unwrap();
    }
}

async fn answer(State(sink): State<Arc<Sink>>, uri: Uri, body: Bytes) -> StatusCode {
    {
        let mut n = sink.in_flight.lock().unwrap();
        n.0 += 1;
        n.1 = n.1.max(n.0);
    }
    // The remote server taking its time (the sink waits, not the test).
    tokio::time::sleep(sink.latency).await;
    let activity: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    sink.received.lock().unwrap().push((uri.path().to_owned(), activity));
    sink.in_flight.lock().unwrap().0 -= 1;
    StatusCode::ACCEPTED
}
