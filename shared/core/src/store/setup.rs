//! Creating the state bucket, idempotently: what `relay local` does at start (a deployment
//! gets its bucket from the template instead).

use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_sdk_s3::types::{BucketLocationConstraint, CreateBucketConfiguration};

use super::StoreError;
use crate::aws::{classify_sdk_error, http_status};

/// Error codes S3 answers when the bucket exists already and is ours.
const OURS_ALREADY: &[&str] = &["BucketAlreadyOwnedByYou"];

/// Creates bucket `name` unless it exists (a `HeadBucket` that succeeds), in the client's
/// region (outside `us-east-1` S3 needs the location constraint). An existing bucket owned by
/// someone else is an error ([`StoreError`] with operation `create_bucket`).
pub async fn ensure_bucket(client: &aws_sdk_s3::Client, name: &str) -> Result<(), StoreError> {
    match client.head_bucket().bucket(name).send().await {
        Ok(_) => return Ok(()),
        Err(error) if http_status(&error) == Some(404) => {}
        Err(error) => {
            let (class, detail) = classify_sdk_error(&error);
            return Err(StoreError::new("head_bucket", name, class, detail));
        }
    }
    let region = client.config().region().map(|r| r.as_ref().to_owned());
    let configuration = region.filter(|region| region != "us-east-1").map(|region| {
        CreateBucketConfiguration::builder()
            .location_constraint(BucketLocationConstraint::from(region.as_str()))
            .build()
    });
    match client
        .create_bucket()
        .bucket(name)
        .set_create_bucket_configuration(configuration)
        .send()
        .await
    {
        Ok(_) => Ok(()),
        Err(error)
            if error
                .code()
                .is_some_and(|code| OURS_ALREADY.contains(&code)) =>
        {
            Ok(())
        }
        Err(error) => {
            let (class, detail) = classify_sdk_error(&error);
            Err(StoreError::new("create_bucket", name, class, detail))
        }
    }
}
