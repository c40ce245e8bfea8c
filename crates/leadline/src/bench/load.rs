//! Load generation shared by the benchmarks and the kill-harness test (which includes
//! this file with `#[path]`): the open-loop sender, form tokens, round-the-clock hours.
//! It uses only HTTP over loopback, never the server's crates.

use anyhow::Context;
use serde_json::{json, Value};
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Offers `make(1)`, `make(2)`, … at `rate` per second for `duration` — open loop: each
/// offer is due at its own time whether or not earlier ones have been answered — with
/// at most `concurrency` in flight (a full window delays the next offer). `rate` 0
/// offers back to back until `duration` has passed. `make` runs on the sender at the
/// offer's time, the future it returns on its own task; the outputs come back in
/// offer order.
pub async fn open_loop<F, Fut>(
    rate: u32,
    duration: Duration,
    concurrency: usize,
    make: F,
) -> anyhow::Result<Vec<Fut::Output>>
where
    F: FnMut(u64) -> Fut,
    Fut: Future + Send + 'static,
    Fut::Output: Send + 'static,
{
    open_loop_until(rate, tokio::time::sleep(duration), concurrency, make).await
}

/// [`open_loop`] that stops offering when `stop` completes instead of after a fixed
/// time: for a burst whose end depends on something else (the kill harness offers on
/// until well after its signal has gone out, however late that is).
pub async fn open_loop_until<F, Fut>(
    rate: u32,
    stop: impl Future<Output = ()>,
    concurrency: usize,
    mut make: F,
) -> anyhow::Result<Vec<Fut::Output>>
where
    F: FnMut(u64) -> Fut,
    Fut: Future + Send + 'static,
    Fut::Output: Send + 'static,
{
    let limit = Arc::new(tokio::sync::Semaphore::new(
        concurrency.clamp(1, tokio::sync::Semaphore::MAX_PERMITS),
    ));
    let interval = if rate == 0 {
        Duration::ZERO
    } else {
        Duration::from_secs_f64(1.0 / f64::from(rate))
    };
    let mut next = Instant::now();
    let mut n: u64 = 0;
    let mut tasks = Vec::new();
    let mut stop = std::pin::pin!(stop);
    loop {
        // `biased`: a stop that is due wins over an offer that is due too.
        tokio::select! {
            biased;
            () = &mut stop => break,
            () = tokio::time::sleep_until(next.into()) => {}
        }
        next += interval;
        let permit = tokio::select! {
            biased;
            () = &mut stop => break,
            permit = limit.clone().acquire_owned() => permit?,
        };
        n += 1;
        let offer = make(n);
        tasks.push(tokio::spawn(async move {
            let out = offer.await;
            drop(permit);
            out
        }));
    }
    let mut outputs = Vec::with_capacity(tasks.len());
    for task in tasks {
        outputs.push(task.await?);
    }
    Ok(outputs)
}

/// A form token, as the hosted page would carry it (`form_url` is `…/f/{key}`).
pub async fn form_token(client: &reqwest::Client, form_url: &str) -> anyhow::Result<String> {
    let token: Value = client
        .get(format!("{form_url}/token"))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    Ok(token["token"].as_str().context("form token")?.to_string())
}

/// Working hours that never end, in UTC: a rep who can take a lead at any time of day.
pub fn round_the_clock() -> Value {
    let week: Vec<Value> = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
        .iter()
        .map(|d| json!({ "day": d, "start": "00:00", "end": "24:00" }))
        .collect();
    json!({ "time_zone": "UTC", "week": week })
}
