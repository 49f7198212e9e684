//! /users/merge, /users/alias/new, /users/identify

use super::*;

#[tokio::test]
async fn when_aliases_and_identifications_exceed_50_then_they_are_chunked() {
    let server = MockServer::start().await;
    let count = |key: &'static str| {
        move |request: &Request| {
            let n = len_of(&body_of(request), key);
            ResponseTemplate::new(201)
                .set_body_json(json!({"message": "success", "aliases_processed": n}))
        }
    };
    Mock::given(method("POST"))
        .and(path("/users/alias/new"))
        .respond_with(count("user_aliases"))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/users/identify"))
        .respond_with(count("aliases_to_identify"))
        .mount(&server)
        .await;
    let merges = Arc::new(AtomicUsize::new(0));
    let seen = Arc::clone(&merges);
    Mock::given(method("POST"))
        .and(path("/users/merge"))
        .respond_with(move |request: &Request| {
            seen.fetch_add(len_of(&body_of(request), "merge_updates"), Ordering::SeqCst);
            ResponseTemplate::new(202).set_body_json(json!({"message": "success"}))
        })
        .mount(&server)
        .await;
    let client = client_for(&server);

    let aliases = client
        .new_aliases()
        .aliases((0..120).map(|i| NewAlias {
            external_id: Some(format!("u-{i}")),
            alias_name: format!("crm-{i}"),
            alias_label: "hubspot".into(),
        }))
        .send()
        .await
        .unwrap();
    let identified = client
        .identify()
        .aliases((0..51).map(|i| AliasToIdentify {
            external_id: format!("u-{i}"),
            user_alias: UserAlias::new(format!("crm-{i}"), "hubspot"),
        }))
        .send()
        .await
        .unwrap();
    let merged = client
        .merge()
        .updates((0..60).map(|i| relay_clients::braze::MergeUpdate {
            identifier_to_merge: relay_clients::braze::MergeIdentifier::UserAlias {
                user_alias: UserAlias::new(format!("crm-{i}"), "hubspot"),
            },
            identifier_to_keep: relay_clients::braze::MergeIdentifier::ExternalId {
                external_id: format!("u-{i}"),
            },
        }))
        .send()
        .await
        .unwrap();

    assert_eq!((aliases.requests, aliases.processed), (3, 120));
    assert_eq!((identified.requests, identified.processed), (2, 51));
    assert_eq!((merged.requests, merged.processed), (2, 60));
    assert_eq!(merges.load(Ordering::SeqCst), 60);
    let mut sizes: Vec<usize> = received(&server)
        .await
        .iter()
        .filter(|r| r.url.path() == "/users/alias/new")
        .map(|r| len_of(&body_of(r), "user_aliases"))
        .collect();
    sizes.sort_unstable();
    assert_eq!(sizes, vec![20, 50, 50]);
}

#[tokio::test]
async fn when_an_unknown_host_is_configured_without_opt_in_then_no_client_can_be_built() {
    let err = BrazeEndpoint::parse("https://rest.iad-09.braze.com", false).unwrap_err();
    assert!(matches!(err, BrazeError::EndpointNotAllowed { .. }));
    assert!(err.to_string().contains("rest.iad-09.braze.com"), "{err}");
    let ok = BrazeEndpoint::parse("https://rest.fra-02.braze.eu/", false).unwrap();
    assert_eq!(
        ok.url("/users/track"),
        "https://rest.fra-02.braze.eu/users/track"
    );
}

#[test]
fn when_the_key_is_empty_or_not_header_safe_then_the_client_is_misconfigured() {
    let endpoint = BrazeEndpoint::for_cluster(Cluster::by_name("US-01").unwrap());
    for key in ["", "   ", "key\nwith-newline"] {
        let config = BrazeConfig {
            api_key: SecretString::from(key),
            ..config(endpoint.clone())
        };
        let err = BrazeClient::new(config, http_client(Default::default())).unwrap_err();
        assert!(
            matches!(err, BrazeError::InvalidConfig(_)),
            "{key:?}: {err}"
        );
        assert_eq!(err.class(), FailureClass::Misconfigured);
        assert!(!err.to_string().contains("newline"), "{err}");
    }
}
