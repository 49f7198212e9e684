//! List streams: Userflow's cursor pages as one flat stream of items.

use std::collections::VecDeque;

use futures::StreamExt;
use futures::stream::BoxStream;
use http::Method;
use serde::de::DeserializeOwned;

use super::{API_NAME, UserflowClient, decode};
use crate::upstream::Idempotency;
use crate::userflow::error::UserflowError;
use crate::userflow::models::List;

impl UserflowClient {
    /// One stream of `collection`'s items, page after page, until a page says it is the last
    /// (or an error, yielded once, ends it).
    pub(super) fn paginate<T>(
        &self,
        collection: &'static str,
        page_size: PageSize,
        filters: Vec<(&'static str, String)>,
        id_of: fn(&T) -> &str,
    ) -> BoxStream<'static, Result<T, UserflowError>>
    where
        T: DeserializeOwned + Send + Sync + 'static,
    {
        let mut pager = Pager {
            client: self.clone(),
            collection,
            page_size,
            filters,
            id_of,
            buffered: VecDeque::new(),
            next_url: None,
        };
        pager.next_url = Some(pager.cursor_url(None));
        futures::stream::unfold(pager, |mut pager| async move {
            loop {
                if let Some(item) = pager.buffered.pop_front() {
                    return Some((Ok(item), pager));
                }
                // No next page (or an error was yielded): the stream ends.
                let url = pager.next_url.take()?;
                match pager.fetch(&url).await {
                    Ok(page) => pager.accept(&url, page),
                    Err(error) => return Some((Err(error), pager)),
                }
            }
        })
        .boxed()
    }
}

/// The state of one list stream: items of the current page not yet yielded, and where the
/// next page is.
struct Pager<T> {
    client: UserflowClient,
    collection: &'static str,
    page_size: PageSize,
    filters: Vec<(&'static str, String)>,
    id_of: fn(&T) -> &str,
    buffered: VecDeque<T>,
    next_url: Option<String>,
}

impl<T: DeserializeOwned> Pager<T> {
    async fn fetch(&self, url: &str) -> Result<List<T>, UserflowError> {
        let response = self
            .client
            .call(
                Method::GET,
                url.to_owned(),
                None::<&()>,
                Idempotency::Idempotent,
            )
            .await?;
        decode(&response.body, "list")
    }

    /// Buffers a page and works out the next page's URL (none when done).
    fn accept(&mut self, url: &str, page: List<T>) {
        let last_id = page.data.last().map(|item| (self.id_of)(item).to_owned());
        let next = if !page.has_more {
            None
        } else if let Some(next) = page
            .next_page_url
            .as_deref()
            .and_then(|next| self.follow_next_page_url(next))
        {
            Some(next)
        } else if let Some(last_id) = last_id {
            Some(self.cursor_url(Some(&last_id)))
        } else {
            tracing::warn!(
                api = API_NAME,
                collection = self.collection,
                "list page says has_more but gives no cursor; stopping"
            );
            None
        };
        // A next page equal to this one would loop forever.
        self.next_url = next.filter(|next| {
            let repeats = *next == url;
            if repeats {
                tracing::warn!(
                    api = API_NAME,
                    collection = self.collection,
                    "list cursor did not advance; stopping"
                );
            }
            !repeats
        });
        self.buffered = page.data.into();
    }

    /// `/<collection>?limit=..&<filters>[&starting_after=..]` under the base URL.
    fn cursor_url(&self, starting_after: Option<&str>) -> String {
        let limit = self.page_size.get().to_string();
        let mut query: Vec<(&str, &str)> = vec![("limit", &limit)];
        query.extend(self.filters.iter().map(|(k, v)| (*k, v.as_str())));
        if let Some(cursor) = starting_after {
            query.push(("starting_after", cursor));
        }
        self.client.url(&[self.collection], &query)
    }

    /// Resolves Userflow's `next_page_url` (relative or absolute) against the base URL and
    /// makes sure it still carries `limit` and the filters. An absolute URL on another origin
    /// is not followed: it would receive the API key.
    fn follow_next_page_url(&self, next: &str) -> Option<String> {
        let base = &self.client.inner.base_url;
        let absolute = if next.starts_with("http://") || next.starts_with("https://") {
            let same_origin = next
                .strip_prefix(base.origin())
                .is_some_and(|rest| rest.is_empty() || rest.starts_with(['/', '?']));
            if !same_origin {
                tracing::warn!(
                    api = API_NAME,
                    "next_page_url points to another origin; using the cursor instead"
                );
                return None;
            }
            next.to_owned()
        } else {
            let relative = next.trim_start_matches('/');
            let base_path = &base.as_str()[base.origin().len()..];
            // Userflow's relative URLs start at the API root; a sandbox mounted under a path
            // prefix may already include that prefix.
            if !base_path.is_empty() && next.starts_with(&format!("{base_path}/")) {
                format!("{}{}", base.origin(), next)
            } else {
                format!("{}/{}", base.as_str(), relative)
            }
        };
        let mut url = url::Url::parse(&absolute).ok()?;
        let present: Vec<String> = url.query_pairs().map(|(k, _)| k.into_owned()).collect();
        let limit = self.page_size.get().to_string();
        let missing: Vec<(&str, &str)> = std::iter::once(("limit", limit.as_str()))
            .chain(self.filters.iter().map(|(k, v)| (*k, v.as_str())))
            .filter(|(key, _)| !present.iter().any(|p| p == key))
            .collect();
        if !missing.is_empty() {
            url.query_pairs_mut().extend_pairs(missing);
        }
        Some(url.to_string())
    }
}

/// Items per list page: 1 to 100 (Userflow's maximum), 100 by default. Larger values are
/// rejected here, before anything is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PageSize(u8);

impl PageSize {
    /// Userflow's maximum page size.
    pub const MAX: PageSize = PageSize(100);

    /// A page size in `1..=100`, else [`UserflowError::InvalidRequest`].
    pub fn new(limit: u32) -> Result<PageSize, UserflowError> {
        match u8::try_from(limit) {
            Ok(limit @ 1..=100) => Ok(PageSize(limit)),
            _ => Err(UserflowError::InvalidRequest {
                reason: "list limit must be between 1 and 100",
            }),
        }
    }

    /// The number sent as `limit`.
    pub fn get(self) -> u32 {
        u32::from(self.0)
    }
}

impl Default for PageSize {
    fn default() -> Self {
        PageSize::MAX
    }
}

/// Options of [`UserflowClient::list_users`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListUsers {
    /// Items per page (default 100).
    pub page_size: PageSize,
    /// Only users with this email.
    pub email: Option<String>,
}

impl ListUsers {
    /// Only users with this email.
    pub fn with_email(self, email: impl Into<String>) -> ListUsers {
        ListUsers {
            email: Some(email.into()),
            ..self
        }
    }

    /// Items per page.
    pub fn with_page_size(self, page_size: PageSize) -> ListUsers {
        ListUsers { page_size, ..self }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn when_page_size_is_out_of_range_then_it_is_rejected() {
        assert!(PageSize::new(0).is_err());
        assert!(PageSize::new(101).is_err());
        assert_eq!(PageSize::new(100).unwrap().get(), 100);
        assert_eq!(PageSize::default().get(), 100);
    }
}
