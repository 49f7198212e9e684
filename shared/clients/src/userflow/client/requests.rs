//! Request builders: `POST /users`, `POST /groups` and `POST /events`, each ending in
//! `.send()`.

use super::UserflowClient;
use crate::userflow::error::UserflowError;
use crate::userflow::models::{
    AttributeValue, Attributes, Event, EventSubject, GroupUpsert, Membership, MembershipList,
    MembershipUpdate, UserUpsert,
};

/// Builder for `POST /users`; ends with [`UpsertUserRequest::send`].
#[derive(Debug)]
#[must_use = "nothing is sent until `.send()` is awaited"]
pub struct UpsertUserRequest<'c> {
    client: &'c UserflowClient,
    id: String,
    attributes: Option<Attributes>,
    list: Option<MembershipList>,
    prune: bool,
}

impl<'c> UpsertUserRequest<'c> {
    /// An upsert of user `id` with nothing set yet.
    pub(super) fn new(client: &'c UserflowClient, id: String) -> Self {
        UpsertUserRequest {
            client,
            id,
            attributes: None,
            list: None,
            prune: false,
        }
    }

    /// Sets one attribute (a plain value or an
    /// [`AttributeOperation`](crate::userflow::AttributeOperation)).
    pub fn attribute(mut self, name: impl Into<String>, value: impl Into<AttributeValue>) -> Self {
        self.attributes
            .get_or_insert_with(Attributes::new)
            .insert(name.into(), value.into());
        self
    }

    /// Sets several attributes.
    pub fn attributes<K, V>(mut self, attributes: impl IntoIterator<Item = (K, V)>) -> Self
    where
        K: Into<String>,
        V: Into<AttributeValue>,
    {
        let map = self.attributes.get_or_insert_with(Attributes::new);
        map.extend(attributes.into_iter().map(|(k, v)| (k.into(), v.into())));
        self
    }

    /// Links the user to groups (`"groups"`). Replaces memberships set earlier on this
    /// builder: Userflow takes one list or the other.
    pub fn groups(mut self, groups: impl IntoIterator<Item = GroupUpsert>) -> Self {
        self.list = Some(MembershipList::Groups(groups.into_iter().collect()));
        self
    }

    /// Links the user to groups with membership attributes (`"memberships"`). Replaces
    /// groups set earlier on this builder.
    pub fn memberships(mut self, memberships: impl IntoIterator<Item = Membership>) -> Self {
        self.list = Some(MembershipList::Memberships(
            memberships.into_iter().collect(),
        ));
        self
    }

    /// Removes the user from every group the list does not name. Only sent together with a
    /// list, and only safe when that list holds all of the user's groups.
    pub fn prune_memberships(mut self) -> Self {
        self.prune = true;
        self
    }

    /// The request body this builder describes.
    pub fn into_body(self) -> UserUpsert {
        UserUpsert {
            id: self.id,
            attributes: self.attributes,
            memberships: self.list.map(|list| MembershipUpdate {
                list,
                prune: self.prune,
            }),
        }
    }

    /// Sends the upsert. Any 2xx is success (see [`UserflowClient::send_user_upsert`]).
    pub async fn send(self) -> Result<(), UserflowError> {
        let client = self.client;
        client.send_user_upsert(&self.into_body()).await
    }
}

/// Builder for `POST /groups`; ends with [`GroupUpsertRequest::send`].
#[derive(Debug)]
#[must_use = "nothing is sent until `.send()` is awaited"]
pub struct GroupUpsertRequest<'c> {
    client: &'c UserflowClient,
    body: GroupUpsert,
}

impl<'c> GroupUpsertRequest<'c> {
    /// An upsert of group `id` with no attributes yet.
    pub(super) fn new(client: &'c UserflowClient, id: String) -> Self {
        GroupUpsertRequest {
            client,
            body: GroupUpsert::new(id),
        }
    }

    /// Sets one group attribute.
    pub fn attribute(mut self, name: impl Into<String>, value: impl Into<AttributeValue>) -> Self {
        self.body = self.body.attribute(name, value);
        self
    }

    /// Sends the upsert. Any 2xx is success (see [`UserflowClient::send_group_upsert`]).
    pub async fn send(self) -> Result<(), UserflowError> {
        self.client.send_group_upsert(&self.body).await
    }
}

/// Builder for `POST /events`; ends with [`TrackEventRequest::send`].
#[derive(Debug)]
#[must_use = "nothing is sent until `.send()` is awaited"]
pub struct TrackEventRequest<'c> {
    client: &'c UserflowClient,
    body: Event,
}

impl<'c> TrackEventRequest<'c> {
    /// Event `name` about `subject`, without attributes yet.
    pub(super) fn new(client: &'c UserflowClient, name: String, subject: EventSubject) -> Self {
        TrackEventRequest {
            client,
            body: Event {
                name,
                subject,
                attributes: None,
            },
        }
    }

    /// Sets one event attribute.
    pub fn attribute(mut self, name: impl Into<String>, value: impl Into<AttributeValue>) -> Self {
        self.body
            .attributes
            .get_or_insert_with(Attributes::new)
            .insert(name.into(), value.into());
        self
    }

    /// Sends the event (see [`UserflowClient::send_event`] for the retry rule).
    pub async fn send(self) -> Result<(), UserflowError> {
        self.client.send_event(&self.body).await
    }

    /// Sends the event, giving up when `until` passes (see
    /// [`UserflowClient::send_event_before`]).
    pub async fn send_before(self, until: tokio::time::Instant) -> Result<(), UserflowError> {
        self.client.send_event_before(&self.body, until).await
    }
}
