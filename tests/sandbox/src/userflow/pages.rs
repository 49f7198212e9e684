//! List pagination: items ordered by id, `limit` (1..=100, default 20) and `starting_after`,
//! and a relative `next_page_url` (`/users?limit=10&starting_after=...`).

use std::collections::BTreeMap;
use std::ops::Bound;

use http::{StatusCode, Uri};
use serde_json::{Value, json};

use super::routes::{Answer, Failure, invalid};
use crate::common::http_util;

const DEFAULT_LIMIT: usize = 20;
const MAX_LIMIT: usize = 100;

/// `limit` and `starting_after` of a list request.
fn page_params(uri: &Uri) -> Result<(usize, Option<String>), Failure> {
    let pairs = http_util::query_pairs(uri);
    let limit = match http_util::query_get(&pairs, "limit") {
        None => DEFAULT_LIMIT,
        Some(v) => match v.parse::<usize>() {
            Ok(n) if (1..=MAX_LIMIT).contains(&n) => n,
            _ => return Err(invalid(format!("limit must be between 1 and {MAX_LIMIT}"))),
        },
    };
    let after = http_util::query_get(&pairs, "starting_after").map(str::to_owned);
    Ok((limit, after))
}

/// A list page of the items of `items` (ordered by id) that `keep` accepts. The page starts
/// right after `starting_after` through the map's order, so walking every page stays linear.
pub(super) fn page<T>(
    items: &BTreeMap<String, T>,
    uri: &Uri,
    base: &str,
    keep: impl Fn(&T) -> bool,
    render: impl Fn(&T) -> Value,
) -> Answer {
    let (limit, after) = page_params(uri)?;
    let start = match &after {
        Some(a) => Bound::Excluded(a.as_str()),
        None => Bound::Unbounded,
    };
    let mut matching = items
        .range::<str, _>((start, Bound::Unbounded))
        .filter(|(_, item)| keep(item));
    let found: Vec<(&String, &T)> = matching.by_ref().take(limit).collect();
    let has_more = matching.next().is_some();
    let next_page_url = match found.last() {
        Some((last, _)) if has_more => {
            let mut query: Vec<(String, String)> = http_util::query_pairs(uri)
                .into_iter()
                .filter(|(k, _)| k != "starting_after" && k != "limit")
                .collect();
            query.push(("limit".into(), limit.to_string()));
            query.push(("starting_after".into(), (*last).clone()));
            let q: Vec<String> = query
                .iter()
                .map(|(k, v)| {
                    format!(
                        "{}={}",
                        http_util::query_encode(k),
                        http_util::query_encode(v)
                    )
                })
                .collect();
            Value::String(format!("{base}?{}", q.join("&")))
        }
        _ => Value::Null,
    };
    let data: Vec<Value> = found.into_iter().map(|(_, item)| render(item)).collect();
    Ok((
        StatusCode::OK,
        json!({
            "object": "list",
            "data": data,
            "has_more": has_more,
            "url": base,
            "next_page_url": next_page_url,
        }),
    ))
}
