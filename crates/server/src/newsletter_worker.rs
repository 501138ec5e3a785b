//! Sends the newsletter from its queue in the database (see
//! `gazette_store`'s newsletter module): turns each article's issue into one
//! mail per confirmed subscriber, then sends due mails, confirmations
//! first, over a few kept-open SMTP connections and at most
//! `mail.newsletter_per_second`. A failed mail is tried again with a
//! growing delay; one the server refuses for good, or that failed
//! [`MAX_ATTEMPTS`] times, is given up and logged. A sent mail leaves the
//! queue, so a restart resumes where the last run stopped (at worst a batch
//! cut short by a crash is sent twice). Publishing only writes the issue:
//! it never waits for this worker. Writes of other processes wake it
//! through `crate::wakeups`.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use gazette_core::{Article, ArticleStatus};
use gazette_store::{NewsletterMail, NewsletterMailKind, Store};
use gazette_web::AppState;
use gazette_web::mail::{MailError, MailSettings, Mailer};
use gazette_web::newsletter::mails::Composer;
use tokio::sync::{Notify, Semaphore, watch};
use tokio::task::JoinSet;

/// SMTP connections kept open at once: lettre does not set TCP_NODELAY, so
/// each message waits for the server's delayed ACK of its body (up to
/// 40 ms on Linux) before its final `.`; connections side by side make up for it.
const CONNECTIONS: u32 = 16;
/// Mails read from the queue at a time.
const BATCH: i64 = 200;
/// Tries before a mail is given up.
pub const MAX_ATTEMPTS: i64 = 8;
/// First retry delay, doubled at each further failure…
const BACKOFF_UNIT: chrono::Duration = chrono::Duration::seconds(30);
/// …up to this.
const BACKOFF_MAX: chrono::Duration = chrono::Duration::hours(6);
/// Longest sleep, should a wake-up be missed.
const MAX_SLEEP: Duration = Duration::from_secs(30);
/// Unconfirmed subscriptions are forgotten after this long.
const FORGET_UNCONFIRMED: chrono::Duration = chrono::Duration::days(8);
/// How often the forgetting and the site's name are looked at again.
const HOUSEKEEPING_EVERY: Duration = Duration::from_secs(600);

/// Runs until `shutdown` turns true; `wake` makes it look at the queue at once.
pub async fn run(state: AppState, settings: MailSettings, wake: Arc<Notify>, mut shutdown: watch::Receiver<bool>) {
    let mailer = match Mailer::new(&settings, CONNECTIONS) {
        Ok(m) => m,
        Err(e) => {
            tracing::error!(error = %e, "the newsletter cannot be sent");
            return;
        }
    };
    let store = state.store().clone();
    let mut composer = loop {
        match Composer::new(state.clone()).await {
            Ok(c) => break c,
            Err(e) => tracing::warn!(error = %e, "newsletter: cannot read its key; will retry"),
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(5)) => {}
            _ = shutdown.changed() => return,
        }
    };
    let composer_at = Instant::now();
    let mut housekeeping_at = composer_at;
    let pace = Duration::from_secs(1) / settings.newsletter_per_second.max(1);
    let mut articles = Articles::default();
    loop {
        if housekeeping_at.elapsed() >= HOUSEKEEPING_EVERY {
            housekeeping_at = Instant::now();
            if let Err(e) = composer.refresh().await {
                tracing::warn!(error = %e, "newsletter: reading the site's settings failed");
            }
            match store.forget_unconfirmed(Utc::now() - FORGET_UNCONFIRMED).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(addresses = n, "newsletter: unconfirmed subscriptions forgotten"),
                Err(e) => tracing::warn!(error = %e, "newsletter: forgetting unconfirmed subscriptions failed"),
            }
            articles.clear();
        }
        match store.expand_newsletter_issues().await {
            Ok(0) => {}
            Ok(n) => tracing::info!(mails = n, "newsletter: article mails queued"),
            Err(e) => tracing::warn!(error = %e, "newsletter: queueing article mails failed; will retry"),
        }
        let due = match store.due_newsletter_mails(Utc::now(), BATCH).await {
            Ok(d) => d,
            Err(e) => {
                tracing::warn!(error = %e, "newsletter: reading the queue failed; will retry");
                Vec::new()
            }
        };
        let full = due.len() as i64 == BATCH;
        if !due.is_empty() {
            let stopped = send_batch(&store, &mailer, &composer, &mut articles, due, pace, &shutdown).await;
            if stopped {
                return;
            }
        }
        if full {
            continue;
        }
        let sleep = match store.next_newsletter_mail_at().await {
            Ok(Some(at)) => (at - Utc::now()).to_std().unwrap_or(Duration::ZERO).min(MAX_SLEEP),
            _ => MAX_SLEEP,
        };
        tokio::select! {
            _ = tokio::time::sleep(sleep.max(Duration::from_millis(20))) => {}
            _ = wake.notified() => {}
            _ = shutdown.changed() => {}
        }
        if *shutdown.borrow() {
            return;
        }
    }
}

/// Published articles by id, read once per batch run (`None`: gone or no
/// longer public, so its mails are dropped).
#[derive(Default)]
struct Articles(HashMap<String, Option<Arc<Article>>>);

impl Articles {
    async fn get(&mut self, store: &Store, id: &str) -> Result<Option<Arc<Article>>, gazette_store::StoreError> {
        if let Some(a) = self.0.get(id) {
            return Ok(a.clone());
        }
        let found = store
            .find_article(id)
            .await?
            .filter(|a| a.status == ArticleStatus::Published)
            .map(Arc::new);
        if self.0.len() > 64 {
            self.0.clear();
        }
        self.0.insert(id.to_owned(), found.clone());
        Ok(found)
    }

    fn clear(&mut self) {
        self.0.clear();
    }
}

/// What became of one mail.
enum Outcome {
    Sent,
    Failed(MailError),
}

/// Sends `due`, paced and a few at a time; returns true when asked to stop
/// (what was sent is recorded first).
async fn send_batch(
    store: &Store,
    mailer: &Mailer,
    composer: &Composer,
    articles: &mut Articles,
    due: Vec<NewsletterMail>,
    pace: Duration,
    shutdown: &watch::Receiver<bool>,
) -> bool {
    let slots = Arc::new(Semaphore::new(CONNECTIONS as usize));
    let mut running = JoinSet::new();
    let mut finished: Vec<String> = Vec::new();
    let mut failed: Vec<(NewsletterMail, MailError)> = Vec::new();
    // The time the next mail may start: sleeps only when ahead of the rate
    // (the timer's granularity is a millisecond, finer paces come in bursts).
    let mut next_start = tokio::time::Instant::now();
    let mut stopped = false;
    for mail in due {
        if *shutdown.borrow() {
            stopped = true;
            break;
        }
        let message = match &mail.kind {
            NewsletterMailKind::Confirm => composer.confirm(mailer, &mail),
            NewsletterMailKind::Article(id) => match articles.get(store, id).await {
                Ok(Some(article)) => composer.article(mailer, &mail, &article),
                Ok(None) => {
                    finished.push(mail.id);
                    continue;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "newsletter: reading an article failed; will retry");
                    break;
                }
            },
        };
        let message = match message {
            Ok(m) => m,
            Err(e) => {
                failed.push((mail, e));
                continue;
            }
        };
        next_start = next_start.max(tokio::time::Instant::now() - Duration::from_secs(1)) + pace;
        if next_start > tokio::time::Instant::now() + Duration::from_millis(1) {
            tokio::time::sleep_until(next_start).await;
        }
        let Ok(slot) = slots.clone().acquire_owned().await else {
            break;
        };
        let mailer = mailer.clone();
        running.spawn(async move {
            let outcome = match mailer.send(message).await {
                Ok(()) => Outcome::Sent,
                Err(e) => Outcome::Failed(e),
            };
            drop(slot);
            (mail, outcome)
        });
        // Collect what is done as we go, so a long batch frees its memory.
        while let Some(done) = running.try_join_next() {
            collect(done, &mut finished, &mut failed);
        }
    }
    while let Some(done) = running.join_next().await {
        collect(done, &mut finished, &mut failed);
    }
    if let Err(e) = store.finish_newsletter_mails(&finished).await {
        tracing::warn!(error = %e, mails = finished.len(), "newsletter: recording sent mails failed (they may go twice)");
    }
    for (mail, error) in failed {
        let attempts = mail.attempts + 1;
        if error.is_permanent() || attempts >= MAX_ATTEMPTS {
            tracing::warn!(error = %error, attempts, kind = ?mail.kind, "newsletter: a mail was given up");
            if let Err(e) = store.finish_newsletter_mails(&[mail.id]).await {
                tracing::warn!(error = %e, "newsletter: dropping a mail failed");
            }
            continue;
        }
        let delay = (BACKOFF_UNIT * 2i32.pow(u32::try_from(mail.attempts).unwrap_or(0).min(16))).min(BACKOFF_MAX);
        tracing::info!(error = %error, attempts, retry_in = %delay, "newsletter: a mail failed; will retry");
        if let Err(e) = store
            .retry_newsletter_mail(&mail.id, Utc::now() + delay, &error.to_string())
            .await
        {
            tracing::warn!(error = %e, "newsletter: recording a failed mail failed");
        }
    }
    stopped
}

fn collect(
    done: Result<(NewsletterMail, Outcome), tokio::task::JoinError>,
    finished: &mut Vec<String>,
    failed: &mut Vec<(NewsletterMail, MailError)>,
) {
    match done {
        Ok((mail, Outcome::Sent)) => finished.push(mail.id),
        Ok((mail, Outcome::Failed(e))) => failed.push((mail, e)),
        Err(e) => tracing::error!(error = %e, "newsletter: a send task failed"),
    }
}
