//! `make infra-check` against seeded mistakes: each case copies `infra/template.yaml`, makes
//! one known mistake in the copy, runs the real `make infra-check` on it (cfn-lint on the
//! template and on its SAM expansion, the project's rules, the rate budgets, checkov) and
//! asserts that it fails with a message naming the mistake. The unchanged template must pass,
//! so each failure is the mistake's doing.
//!
//! Needs the checkers in `.venv/infra`; `make infra-check` installs them (and `make test`
//! runs it before the tests).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::thread;

use relay_tests::workspace_root;

/// One seeded mistake: the text replaced (exactly once) and what the output must name.
struct Mistake {
    name: &'static str,
    find: &'static str,
    replace: &'static str,
    /// Every one of these must appear in `make infra-check`'s output.
    named_by: &'static [&'static str],
}

const MISTAKES: &[Mistake] = &[
    Mistake {
        name: "a runtime Lambda does not have",
        find: "    Runtime: provided.al2023\n",
        replace: "    Runtime: provided.al2029\n",
        named_by: &["provided.al2029"],
    },
    Mistake {
        name: "a dangling reference inside a function's events",
        find: "            Queue: !GetAtt SyncQueue.Arn\n",
        replace: "            Queue: !GetAtt MissingQueue.Arn\n",
        named_by: &["MissingQueue"],
    },
    Mistake {
        name: "a queue without a dead-letter queue",
        find: "      VisibilityTimeout: 1980\n      MessageRetentionPeriod: 1209600\n      RedrivePolicy:\n        deadLetterTargetArn: !GetAtt ErasureDeadLetterQueue.Arn\n        maxReceiveCount: 5\n",
        replace: "      VisibilityTimeout: 1980\n      MessageRetentionPeriod: 1209600\n",
        // The erasure DLQ is then no queue's DLQ either, so it is named as well.
        named_by: &["E9101", "SQS queue ErasureQueue has no dead-letter queue"],
    },
    Mistake {
        name: "a wildcard IAM action",
        find: "              - Sid: ParkContacts\n                Effect: Allow\n                Action: sqs:SendMessage\n",
        replace: "              - Sid: ParkContacts\n                Effect: Allow\n                Action: \"sqs:*\"\n",
        named_by: &["E9104", "CrmSignupRole allows every action (sqs:*)"],
    },
    Mistake {
        name: "a public bucket",
        find: "      PublicAccessBlockConfiguration: *private\n      VersioningConfiguration: {Status: Enabled}\n      LoggingConfiguration:\n        DestinationBucketName: !Ref AccessLogBucket\n        LogFilePrefix: compliance/\n",
        replace: "      PublicAccessBlockConfiguration:\n        BlockPublicAcls: false\n        BlockPublicPolicy: false\n        IgnorePublicAcls: false\n        RestrictPublicBuckets: false\n      VersioningConfiguration: {Status: Enabled}\n      LoggingConfiguration:\n        DestinationBucketName: !Ref AccessLogBucket\n        LogFilePrefix: compliance/\n",
        named_by: &["CKV_AWS_53", "AWS::S3::Bucket.ComplianceBucket"],
    },
    Mistake {
        name: "a visibility timeout under 6x the function's timeout",
        find: "      VisibilityTimeout: 1980\n",
        replace: "      VisibilityTimeout: 600\n",
        named_by: &["E9102", "ErasureQueue has VisibilityTimeout 600 s"],
    },
    Mistake {
        name: "an SQS trigger without partial batch responses",
        find: "            MaximumBatchingWindowInSeconds: 5\n            FunctionResponseTypes: [ReportBatchItemFailures]\n",
        replace: "            MaximumBatchingWindowInSeconds: 5\n",
        named_by: &["E9103", "DeletionWorkerFunction on ErasureQueue"],
    },
    Mistake {
        name: "a function SAM would build under a package name the workspace lacks",
        find: "        Binary: sync-worker\n",
        replace: "        Binary: sync-wroker\n",
        named_by: &[
            "E9105",
            "SyncWorkerFunction builds from the Cargo workspace",
            "'sync-wroker'",
        ],
    },
    Mistake {
        name: "a concurrency cap no function uses, so its rate budget bounds nothing",
        find: "      ReservedConcurrentExecutions: !Ref WebhookConcurrency\n",
        replace: "      ReservedConcurrentExecutions: 10\n",
        named_by: &[
            "rate budget unwired",
            "WebhookConcurrency caps no function's concurrency",
        ],
    },
    Mistake {
        name: "per-instance rates over a vendor limit",
        find: "  UserflowRate:\n    Type: Number\n    Default: 6\n",
        replace: "  UserflowRate:\n    Type: Number\n    Default: 7\n",
        named_by: &[
            "rate budget exceeded",
            "Userflow",
            "= 112 <= UserflowRateLimit 100",
        ],
    },
];

/// The checkers' venv stamp, which `make infra-venv` writes once installed.
const INFRA_STAMP: &str = ".venv/infra/.installed";

/// Runs `make infra-check` on `template`, writing its work files under `out`: success and
/// the combined output. The venv is not remade (`-o`): it is installed once, before.
fn infra_check(template: &Path, out: &Path) -> (bool, String) {
    let output = Command::new("make")
        .arg("--no-print-directory")
        .args(["-o", INFRA_STAMP])
        .arg("infra-check")
        .arg(format!("INFRA_TEMPLATE={}", template.display()))
        .arg(format!("INFRA_OUT={}", out.display()))
        .current_dir(workspace_root())
        .output()
        .expect("make runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

/// The CodeUri every function has in `infra/template.yaml`: the workspace root, relative to
/// the template's folder.
const CODE_URI: &str = "      CodeUri: ..\n";

/// `template` as a copy elsewhere must be: CodeUri pointing at the workspace root itself.
fn relocated(template: &str) -> String {
    assert!(
        template.contains(CODE_URI),
        "the functions build from {CODE_URI:?}"
    );
    template.replace(
        CODE_URI,
        &format!("      CodeUri: {}\n", workspace_root().display()),
    )
}

/// The template with `mistake` made, written into a fresh folder.
fn seeded_copy(template: &str, mistake: &Mistake, dir: &Path) -> PathBuf {
    assert_eq!(
        template.matches(mistake.find).count(),
        1,
        "the text that seeds {:?} must occur exactly once in infra/template.yaml",
        mistake.name
    );
    let path = dir.join("template.yaml");
    std::fs::write(
        &path,
        relocated(&template.replacen(mistake.find, mistake.replace, 1)),
    )
    .expect("write the seeded template");
    path
}

#[test]
fn when_a_known_mistake_is_seeded_into_the_template_then_infra_check_fails_naming_it() {
    let template =
        std::fs::read_to_string(workspace_root().join("infra/template.yaml")).expect("template");
    let work = tempfile::tempdir().expect("temp dir");
    // Installed (if need be) once here, not by ten makes at once in one folder.
    let venv = Command::new("make")
        .args(["--no-print-directory", "infra-venv"])
        .current_dir(workspace_root())
        .status()
        .expect("make runs");
    assert!(venv.success(), "make infra-venv failed");

    // The real template, checked the same way, then each mistake, all at once.
    let outcomes = thread::scope(|scope| {
        let baseline = scope.spawn(|| {
            let dir = work.path().join("unchanged");
            std::fs::create_dir_all(&dir).expect("dir");
            let path = dir.join("template.yaml");
            std::fs::write(&path, relocated(&template)).expect("write the copy");
            infra_check(&path, &dir)
        });
        let seeded: Vec<_> = MISTAKES
            .iter()
            .enumerate()
            .map(|(index, mistake)| {
                let dir = work.path().join(format!("mistake-{index}"));
                std::fs::create_dir_all(&dir).expect("dir");
                let path = seeded_copy(&template, mistake, &dir);
                (mistake, scope.spawn(move || infra_check(&path, &dir)))
            })
            .collect();
        let baseline = baseline.join().expect("baseline check");
        let seeded: Vec<_> = seeded
            .into_iter()
            .map(|(mistake, handle)| (mistake, handle.join().expect("seeded check")))
            .collect();
        (baseline, seeded)
    });

    let ((passed, output), seeded) = outcomes;
    assert!(
        passed,
        "the unchanged template must pass infra-check:\n{output}"
    );
    let mut missed = Vec::new();
    for (mistake, (passed, output)) in seeded {
        let unnamed: Vec<_> = mistake
            .named_by
            .iter()
            .filter(|needle| !output.contains(**needle))
            .collect();
        if passed || !unnamed.is_empty() {
            missed.push(format!(
                "{} (passed: {passed}, not named: {unnamed:?}):\n{output}",
                mistake.name
            ));
        }
    }
    assert!(
        missed.is_empty(),
        "infra-check must fail on each seeded mistake, naming it:\n{}",
        missed.join("\n---\n")
    );
}
