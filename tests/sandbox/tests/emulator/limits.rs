//! Braze rate limits: headers on every answer, 429 with `X-Ratelimit-Retry-After`, shared
//! buckets.

use std::time::{SystemTime, UNIX_EPOCH};

use sandbox::{Bucket, RateLimit};
use serde_json::json;

use crate::common::Env;

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs()
}

#[tokio::test]
async fn when_braze_answers_then_rate_limit_headers_carry_the_default_limit_and_an_epoch_reset() {
    let env = Env::start().await;
    let first = env
        .braze(
            "/users/track",
            json!({"attributes": [{"external_id": "a"}]}),
        )
        .await;
    assert_eq!(first.header("x-ratelimit-limit"), Some("3000"));
    assert_eq!(first.header("x-ratelimit-remaining"), Some("2999"));
    let reset: u64 = first
        .header("x-ratelimit-reset")
        .expect("reset")
        .parse()
        .expect("number");
    assert!(reset > 1_000_000_000, "epoch seconds");
    assert!(reset >= now_secs() && reset <= now_secs() + 4);

    let invalid = env.braze("/users/track", json!({"attributes": []})).await;
    assert_eq!(invalid.status, 400);
    assert_eq!(invalid.header("x-ratelimit-remaining"), Some("2998"));

    let ids = env
        .braze(
            "/users/export/ids",
            json!({"external_ids": ["a"], "fields_to_export": ["braze_id"]}),
        )
        .await;
    assert_eq!(ids.header("x-ratelimit-limit"), Some("250"));
    let delete = env
        .braze("/users/delete", json!({"external_ids": ["zz"]}))
        .await;
    assert_eq!(delete.header("x-ratelimit-limit"), Some("20000"));
}

#[tokio::test]
async fn when_the_track_limit_is_used_up_then_429_with_retry_after_and_nothing_applied() {
    let env = Env::start().await;
    env.admin
        .set_rate_limit(
            Bucket::BrazeTrack,
            Some(RateLimit {
                limit: 2,
                window_secs: 30,
            }),
        )
        .await
        .expect("set");
    for id in ["a", "b"] {
        let answer = env
            .braze("/users/track", json!({"attributes": [{"external_id": id}]}))
            .await;
        assert_eq!(answer.status, 201);
    }
    let limited = env
        .braze(
            "/users/track",
            json!({"attributes": [{"external_id": "c"}]}),
        )
        .await;
    assert_eq!(limited.status, 429);
    let retry: u64 = limited
        .header("x-ratelimit-retry-after")
        .expect("retry-after")
        .parse()
        .expect("seconds");
    assert!((1..=30).contains(&retry));
    assert_eq!(limited.header("x-ratelimit-remaining"), Some("0"));
    assert!(limited.json()["message"].is_string());
    assert!(env.braze_user("c").await.is_none());
    let other_bucket = env
        .braze("/users/delete", json!({"external_ids": ["a"]}))
        .await;
    assert_eq!(other_bucket.status, 201);
}

#[tokio::test]
async fn when_delete_alias_identify_and_merge_share_a_bucket_then_they_use_it_up_together() {
    let env = Env::start().await;
    env.admin
        .set_rate_limit(
            Bucket::BrazeUsers,
            Some(RateLimit {
                limit: 3,
                window_secs: 60,
            }),
        )
        .await
        .expect("set");
    let delete = env
        .braze("/users/delete", json!({"external_ids": ["a"]}))
        .await;
    assert_eq!(delete.header("x-ratelimit-remaining"), Some("2"));
    let alias = env
        .braze(
            "/users/alias/new",
            json!({"user_aliases": [{"alias_name": "n", "alias_label": "l"}]}),
        )
        .await;
    assert_eq!(alias.header("x-ratelimit-remaining"), Some("1"));
    let identify = env
        .braze(
            "/users/identify",
            json!({"aliases_to_identify": [{"external_id": "x", "user_alias": {"alias_name": "n", "alias_label": "l"}}]}),
        )
        .await;
    assert_eq!(identify.status, 201);
    let merge = env
        .braze("/users/merge", json!({"merge_updates": []}))
        .await;
    assert_eq!(merge.status, 429);
    assert!(env.braze_user("x").await.is_some());
}

#[tokio::test]
async fn when_a_limit_is_removed_then_no_rate_headers_are_needed_and_requests_pass() {
    let env = Env::start().await;
    env.admin
        .set_rate_limit(
            Bucket::BrazeTrack,
            Some(RateLimit {
                limit: 1,
                window_secs: 60,
            }),
        )
        .await
        .expect("set");
    env.braze(
        "/users/track",
        json!({"attributes": [{"external_id": "a"}]}),
    )
    .await;
    env.admin
        .set_rate_limit(Bucket::BrazeTrack, None)
        .await
        .expect("unset");
    let answer = env
        .braze(
            "/users/track",
            json!({"attributes": [{"external_id": "b"}]}),
        )
        .await;
    assert_eq!(answer.status, 201);
    assert!(answer.header("x-ratelimit-limit").is_none());
}

/// Userflow at benchmark rates: a fixed window of whole seconds that opens with the first
/// request; exactly `limit` requests pass in it, the rest get 429 with `Retry-After` in whole
/// seconds (so `1` for a one-second window), and the next window lets `limit` more through.
#[tokio::test]
async fn when_a_burst_passes_the_userflow_limit_then_exactly_limit_pass_per_window() {
    use futures::future::join_all;
    use reqwest::Method;

    let env = Env::start().await;
    env.admin
        .set_rate_limit(
            Bucket::Userflow,
            Some(RateLimit {
                limit: 40,
                window_secs: 1,
            }),
        )
        .await
        .expect("set");
    let burst = || join_all((0..60).map(|_| env.userflow(Method::GET, "/users?limit=1", None)));
    let first = burst().await;
    let passed = first.iter().filter(|a| a.status == 200).count();
    let limited: Vec<_> = first.iter().filter(|a| a.status == 429).collect();
    assert_eq!((passed, limited.len()), (40, 20));
    for answer in &limited {
        assert_eq!(answer.header("retry-after"), Some("1"));
        assert_eq!(answer.json()["error"]["code"], "rate_limited");
    }
    tokio::time::sleep(std::time::Duration::from_millis(1_100)).await;
    let second = burst().await;
    assert_eq!(second.iter().filter(|a| a.status == 200).count(), 40);
}
