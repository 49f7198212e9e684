//! `relay export start`: the manifest, Braze's export and the signed callback agree; refusals and settings.

use super::*;

#[tokio::test]
async fn when_an_export_is_started_then_the_manifest_braze_and_the_signed_callback_agree() {
    let stack = Stack::start().await;
    stack.seed("seg", 30).await;
    let mut env = stack.env();
    env.insert("EXPORT_CUSTOM_ATTRIBUTES".into(), "plan".into());

    let started = relay(
        &[
            "--json",
            "export",
            "start",
            "--segment",
            "seg",
            "--format",
            "gzip",
        ],
        &env,
    )
    .await;
    assert_eq!(code(&started), 0, "{}", stderr(&started));
    let printed = json(&started);
    let job = JobId::parse(printed["job"].as_str().unwrap()).unwrap();
    let out = format!("{}{}", text(&started), stderr(&started));
    assert!(!out.contains("sig=") && !out.contains(SECRET), "{out}");

    let mapping = ExportMapping::from_env(&Env::from_map(env.clone())).unwrap();
    let manifest = stack.manifest(&job).await;
    assert_eq!(manifest.state, ExportState::Requested);
    assert_eq!(manifest.fields, mapping.fields_to_export());
    assert_eq!(manifest.custom_attributes, ["plan"]);
    assert_eq!(manifest.output_format, OutputFormat::Gzip);
    assert_eq!(
        printed["object_prefix"],
        manifest.object_prefix.clone().unwrap().as_str()
    );
    assert_eq!(
        printed["fields"],
        serde_json::to_value(&manifest.fields).unwrap()
    );

    // Braze (the sandbox) exported exactly what was asked.
    let object_prefix = manifest.object_prefix.clone().unwrap();
    let record = stack
        .sandbox
        .admin()
        .wait_for_export(&object_prefix, Duration::from_secs(30))
        .await
        .unwrap();
    assert_eq!(record.state, SandboxExportState::Completed);
    assert_eq!(record.segment_id, "seg");
    assert_eq!(record.output_format, "gzip");
    let allowed: BTreeSet<&str> = manifest
        .fields
        .iter()
        .map(String::as_str)
        .chain(["custom_attributes"])
        .collect();
    let mut seen = BTreeSet::new();
    for key in &record.files {
        for line in stack.gzip_lines(key).await {
            for (field, value) in line.as_object().unwrap() {
                assert!(allowed.contains(field.as_str()), "{field} was not asked");
                seen.insert(field.clone());
                if field == "custom_attributes" {
                    let names: Vec<&String> = value.as_object().unwrap().keys().collect();
                    assert!(names.iter().all(|n| *n == "plan"), "{names:?}");
                }
            }
        }
    }
    assert!(
        seen.contains("external_id") && seen.contains("email"),
        "{seen:?}"
    );

    // The callback URL verifies for this job only.
    let caught = stack
        .catcher
        .next(Duration::from_secs(30))
        .await
        .expect("the callback arrives");
    let (path, query) = caught.path_and_query.split_once('?').unwrap();
    assert_eq!(path, "/braze/export-callback");
    assert_eq!(caught.json().unwrap()["success"], true);
    let signer = CallbackSigner::new(SecretString::from(SECRET));
    let query = CallbackQuery::parse(query);
    assert_eq!(signer.verify(&query, Utc::now()), Ok(job.clone()));
    let tampered = CallbackQuery {
        job: Some(format!("{}x", job.as_str())),
        ..query.clone()
    };
    assert_eq!(
        signer.verify(&tampered, Utc::now()),
        Err(CallbackAuthError::BadSignature)
    );
    let expires = manifest.callback_expires_at.timestamp();
    assert_eq!(query.exp, Some(expires.to_string()));
    let ttl = expires - manifest.requested_at.timestamp();
    assert!(
        (24 * 3600 - 1..=24 * 3600).contains(&ttl),
        "default TTL 24 h: {ttl}"
    );

    // The text form names the job and the object prefix.
    let again = relay(
        &[
            "export",
            "start",
            "--segment",
            "seg",
            "--fields",
            "external_id,email",
        ],
        &env,
    )
    .await;
    // Without braze_id the sync could not recognise duplicates: refused before anything runs.
    assert_eq!(code(&again), 2, "{}", stderr(&again));
    assert!(stderr(&again).contains("braze_id"), "{}", stderr(&again));
    let again = relay(
        &[
            "export",
            "start",
            "--segment",
            "seg",
            "--fields",
            "external_id,braze_id,email",
        ],
        &env,
    )
    .await;
    // One export per segment at a time in Braze: the first one finished, so this one runs.
    assert_eq!(code(&again), 0, "{}", stderr(&again));
    let line = text(&again);
    let second = line
        .strip_prefix("started export ")
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("{line}"));
    let second = stack.manifest(&JobId::parse(second).unwrap()).await;
    assert!(
        line.contains(&format!(
            "of segment seg (object prefix {})",
            second.object_prefix.as_deref().unwrap()
        )),
        "{line}"
    );
    assert_eq!(second.fields, ["external_id", "braze_id", "email"]);
    assert_eq!(second.custom_attributes, ["plan"], "from the mapping");
}

#[tokio::test]
async fn when_braze_refuses_the_segment_then_exit_1_with_its_reason_and_the_job_is_failed() {
    let stack = Stack::start().await;
    let refused = relay(
        &["export", "start", "--segment", "no-such-segment"],
        &stack.env(),
    )
    .await;
    assert_eq!(code(&refused), 1, "{refused:?}");
    let error = stderr(&refused);
    assert!(error.contains("no-such-segment"), "{error}");
    assert!(error.contains("no such segment"), "Braze's reason: {error}");
    assert!(!error.contains("sig="), "{error}");

    let store = stack.store();
    let jobs = Manifests::new(&store).jobs().await.unwrap();
    assert_eq!(jobs.len(), 1, "{jobs:?}");
    let manifest = stack.manifest(&jobs[0]).await;
    assert_eq!(manifest.state, ExportState::Failed);
    let reason = manifest.error.unwrap();
    assert!(reason.contains("Braze refused the export"), "{reason}");
    assert!(manifest.object_prefix.is_none());
}

#[tokio::test]
async fn when_a_setting_is_missing_or_out_of_range_then_exit_2_names_it_and_nothing_starts() {
    let stack = Stack::start().await;
    stack.seed("seg", 5).await;
    let cases: [(&str, Option<&str>); 5] = [
        ("EXPORT_CALLBACK_URL", None),
        ("EXPORT_CALLBACK_URL", Some("not a url")),
        ("EXPORT_CALLBACK_SECRET", Some("short")),
        ("EXPORT_CALLBACK_TTL_HOURS", Some("0")),
        ("EXPORT_CALLBACK_TTL_HOURS", Some("169")),
    ];
    for (variable, value) in cases {
        let mut env = stack.env();
        match value {
            None => env.remove(variable),
            Some(value) => env.insert(variable.to_owned(), value.to_owned()),
        };
        let output = relay(&["--json", "export", "start", "--segment", "seg"], &env).await;
        assert_eq!(code(&output), 2, "{variable}={value:?}: {output:?}");
        assert_eq!(json(&output)["error"]["variable"], variable);
    }
    let unset = {
        let mut env = stack.env();
        env.remove("STATE_BUCKET");
        relay(&["export", "status"], &env).await
    };
    assert_eq!(code(&unset), 2);
    assert!(stderr(&unset).contains("STATE_BUCKET"));

    let store = stack.store();
    assert!(Manifests::new(&store).jobs().await.unwrap().is_empty());
    assert!(stack.sandbox.admin().exports().await.unwrap().is_empty());
}
