//! The export callback URL: the only authentication Braze's callback can carry.
//!
//! Braze documents no signature, retries or source addresses for the callback of
//! `/users/export/segment`, so the URL itself carries a verifiable, expiring token:
//! `<base>?job=<id>&exp=<unix seconds>&sig=<hex HMAC-SHA256 over "<job>.<exp>">` with
//! `EXPORT_CALLBACK_SECRET`. A URL signed for one job does not verify for another, and after
//! `exp` it verifies for none. The signature is compared in constant time and the secret never
//! leaves this type (its `Debug` hides it).

use chrono::{DateTime, Utc};
use hmac::{Hmac, KeyInit, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;

use super::manifest::JobId;
use crate::env::{ConfigError, Env};
use crate::secrets::SecretResolver;

/// Shortest accepted `EXPORT_CALLBACK_SECRET`, in bytes.
pub const MIN_SECRET_BYTES: usize = 16;

/// Why a callback request is not authentic.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallbackAuthError {
    /// `job`, `exp` or `sig` is missing or not well formed.
    #[error("the callback URL lacks a well-formed {0}")]
    Missing(&'static str),
    /// The signature does not match the job and expiry.
    #[error("the callback signature does not match")]
    BadSignature,
    /// The URL expired.
    #[error("the callback URL expired at {0}")]
    Expired(DateTime<Utc>),
}

/// Signs and verifies callback URLs with `EXPORT_CALLBACK_SECRET`.
#[derive(Clone)]
pub struct CallbackSigner {
    secret: SecretString,
}

impl std::fmt::Debug for CallbackSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CallbackSigner { secret: [redacted] }")
    }
}

/// The query of a callback URL, as received.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CallbackQuery {
    /// `job`.
    pub job: Option<String>,
    /// `exp`, Unix seconds.
    pub exp: Option<String>,
    /// `sig`, lowercase hex.
    pub sig: Option<String>,
}

impl CallbackQuery {
    /// Reads `job`, `exp` and `sig` from a URL query string (other parameters are ignored).
    pub fn parse(query: &str) -> CallbackQuery {
        let mut parsed = CallbackQuery::default();
        for (name, value) in url::form_urlencoded::parse(query.as_bytes()) {
            let slot = match name.as_ref() {
                "job" => &mut parsed.job,
                "exp" => &mut parsed.exp,
                "sig" => &mut parsed.sig,
                _ => continue,
            };
            *slot = Some(value.into_owned());
        }
        parsed
    }
}

type HmacSha256 = Hmac<Sha256>;

impl CallbackSigner {
    /// A signer over `secret` (at least 32 bytes are recommended; the relay's configuration
    /// refuses fewer than 16).
    pub fn new(secret: SecretString) -> CallbackSigner {
        CallbackSigner { secret }
    }

    /// The signer of `EXPORT_CALLBACK_SECRET` (or `EXPORT_CALLBACK_SECRET_SECRET`, a secret
    /// reference), at least [`MIN_SECRET_BYTES`] bytes: the callback verifies with it and
    /// `relay export start` signs with it.
    pub async fn from_env(
        env: &Env,
        secrets: &SecretResolver,
    ) -> Result<CallbackSigner, ConfigError> {
        let secret = secrets
            .resolve_setting(env, "EXPORT_CALLBACK_SECRET")
            .await?;
        if secret.expose_secret().len() < MIN_SECRET_BYTES {
            return Err(ConfigError::new(
                "EXPORT_CALLBACK_SECRET",
                format!(
                    "must be at least {MIN_SECRET_BYTES} bytes (32 random bytes are recommended)"
                ),
            ));
        }
        Ok(CallbackSigner::new(secret))
    }

    fn mac(&self, job: &str, exp: i64) -> HmacSha256 {
        let mut mac = HmacSha256::new_from_slice(self.secret.expose_secret().as_bytes())
            .expect("HMAC takes keys of any length");
        mac.update(job.as_bytes());
        mac.update(b".");
        mac.update(exp.to_string().as_bytes());
        mac
    }

    /// `base` with the signed query appended (`base` may already have a query).
    pub fn url(&self, base: &str, job: &JobId, expires_at: DateTime<Utc>) -> String {
        let exp = expires_at.timestamp();
        let sig = hex::encode(self.mac(job.as_str(), exp).finalize().into_bytes());
        let separator = if base.contains('?') { '&' } else { '?' };
        format!("{base}{separator}job={}&exp={exp}&sig={sig}", job.as_str())
    }

    /// The job a callback is for, when its query is authentic and unexpired at `now`.
    pub fn verify(
        &self,
        query: &CallbackQuery,
        now: DateTime<Utc>,
    ) -> Result<JobId, CallbackAuthError> {
        let job = query
            .job
            .as_deref()
            .and_then(|job| JobId::parse(job).ok())
            .ok_or(CallbackAuthError::Missing("job"))?;
        let exp: i64 = query
            .exp
            .as_deref()
            .and_then(|exp| exp.parse().ok())
            .ok_or(CallbackAuthError::Missing("exp"))?;
        let sig = query
            .sig
            .as_deref()
            .and_then(|sig| hex::decode(sig).ok())
            .ok_or(CallbackAuthError::Missing("sig"))?;
        // Constant time, and checked before the expiry so an attacker learns nothing from
        // which of the two failed.
        self.mac(job.as_str(), exp)
            .verify_slice(&sig)
            .map_err(|_| CallbackAuthError::BadSignature)?;
        let expires_at =
            DateTime::from_timestamp(exp, 0).ok_or(CallbackAuthError::Missing("exp"))?;
        if now >= expires_at {
            return Err(CallbackAuthError::Expired(expires_at));
        }
        Ok(job)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    fn signer(secret: &str) -> CallbackSigner {
        CallbackSigner::new(SecretString::from(secret))
    }

    fn query_of(url: &str) -> CallbackQuery {
        CallbackQuery::parse(url.split_once('?').map(|(_, q)| q).unwrap_or(""))
    }

    #[test]
    fn when_a_url_is_signed_then_it_verifies_for_its_job_until_it_expires() {
        let now = Utc::now();
        let job = JobId::parse("20261206T160000Z-1a2b3c4d").unwrap();
        let url = signer("s3cret-s3cret-s3cret").url(
            "https://relay.example/braze/export-callback",
            &job,
            now + Duration::hours(1),
        );
        let query = query_of(&url);
        let cases: &[(&str, DateTime<Utc>, Result<(), CallbackAuthError>)] = &[
            ("s3cret-s3cret-s3cret", now, Ok(())),
            (
                "another-secret-entirely",
                now,
                Err(CallbackAuthError::BadSignature),
            ),
            (
                "s3cret-s3cret-s3cret",
                now + Duration::hours(2),
                Err(CallbackAuthError::Expired(
                    DateTime::from_timestamp((now + Duration::hours(1)).timestamp(), 0).unwrap(),
                )),
            ),
        ];
        for (secret, at, expected) in cases {
            let got = signer(secret).verify(&query, *at).map(|_| ());
            assert_eq!(&got, expected, "secret {secret}, at {at}");
        }
        assert_eq!(
            signer("s3cret-s3cret-s3cret").verify(&query, now).unwrap(),
            job
        );
    }

    #[test]
    fn when_the_job_or_expiry_is_changed_then_the_signature_no_longer_matches() {
        let now = Utc::now();
        let job = JobId::parse("job-a").unwrap();
        let signer = signer("s3cret-s3cret-s3cret");
        let query = query_of(&signer.url("http://x/cb", &job, now + Duration::hours(1)));
        let other_job = CallbackQuery {
            job: Some("job-b".into()),
            ..query.clone()
        };
        let later = CallbackQuery {
            exp: Some((now + Duration::days(30)).timestamp().to_string()),
            ..query.clone()
        };
        for forged in [other_job, later] {
            assert_eq!(
                signer.verify(&forged, now),
                Err(CallbackAuthError::BadSignature)
            );
        }
    }

    #[test]
    fn when_a_parameter_is_missing_or_malformed_then_it_is_named() {
        let signer = signer("s3cret-s3cret-s3cret");
        let cases = [
            ("exp=1&sig=00", "job"),
            ("job=a%2Fb&exp=1&sig=00", "job"),
            ("job=a&sig=00", "exp"),
            ("job=a&exp=soon&sig=00", "exp"),
            ("job=a&exp=1", "sig"),
            ("job=a&exp=1&sig=zz", "sig"),
        ];
        for (query, missing) in cases {
            assert_eq!(
                signer.verify(&CallbackQuery::parse(query), Utc::now()),
                Err(CallbackAuthError::Missing(missing)),
                "{query}"
            );
        }
    }

    #[test]
    fn when_the_signer_is_printed_then_the_secret_is_not() {
        assert!(!format!("{:?}", signer("s3cret-s3cret-s3cret")).contains("s3cret"));
    }
}
