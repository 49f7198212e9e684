//! moto (S3 + SQS) on a free loopback port, for the tests and `relay local` (feature `moto`).
//!
//! The server script (`tools/moto_server.py`) is compiled into the crate and run with
//! `python -c`, so a binary started from any folder needs only a Python with `moto[server]`:
//! `RELAY_PYTHON`, or the first `.venv/bin/python` found in the search folder or one of its
//! parents (`make venv` creates it). The script prints one JSON line with its endpoint, then
//! serves until its standard input closes or it gets SIGTERM: [`Moto`] holds the stdin pipe
//! and kills the process by PID when dropped, so neither a normal end nor a crashed parent
//! leaves it behind.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use aws_config::Region;
use aws_sdk_s3::config::Credentials;

/// The server script, run with `python -c`.
const SERVER_SCRIPT: &str = include_str!("../../../../tools/moto_server.py");

/// The variable naming the Python to run moto with (it must have `moto[server]`).
pub const PYTHON_VARIABLE: &str = "RELAY_PYTHON";

/// How long moto may take to print its endpoint (importing moto takes a few seconds on a
/// busy machine).
pub const READY_TIMEOUT: Duration = Duration::from_secs(60);

/// The region moto is addressed in; moto accepts any.
pub const MOTO_REGION: &str = "us-east-1";
/// The static access key id used against moto; moto accepts any.
pub const MOTO_ACCESS_KEY_ID: &str = "testing";
/// The static secret key used against moto; moto accepts any.
pub const MOTO_SECRET_ACCESS_KEY: &str = "testing";

/// Why moto could not be started.
#[derive(Debug, thiserror::Error)]
pub enum MotoError {
    /// Neither `RELAY_PYTHON` nor a `.venv/bin/python` in the folder or its parents.
    #[error(
        "no Python with moto: set {PYTHON_VARIABLE} or run `make venv` (looked for .venv/bin/python in {searched} and its parents)"
    )]
    NoPython {
        /// The folder the search started from.
        searched: String,
    },
    /// The Python could not be run.
    #[error("cannot run {python}: {source}")]
    Spawn {
        /// The Python that was run.
        python: String,
        /// Why it did not start.
        #[source]
        source: std::io::Error,
    },
    /// The process ended, or printed something else, before saying where it serves.
    #[error(
        "moto did not start: {reason} (its stderr says why; `make venv` installs moto[server])"
    )]
    NotReady {
        /// What happened instead.
        reason: String,
    },
}

/// A moto server process on a free loopback port, killed (by its PID) when dropped.
#[derive(Debug)]
pub struct Moto {
    child: Child,
    endpoint: String,
}

#[derive(serde::Deserialize)]
struct Ready {
    endpoint: String,
}

/// The Python that has moto: `RELAY_PYTHON` if set (and not blank), else the first
/// `.venv/bin/python` in `from` or one of its parents.
pub fn find_python(from: &Path) -> Result<PathBuf, MotoError> {
    search(from, std::env::var_os(PYTHON_VARIABLE))
}

/// [`find_python`] with the variable's value given.
fn search(from: &Path, given: Option<std::ffi::OsString>) -> Result<PathBuf, MotoError> {
    if let Some(path) = given.filter(|p| !p.is_empty()) {
        return Ok(PathBuf::from(path));
    }
    from.ancestors()
        .map(|folder| folder.join(".venv/bin/python"))
        .find(|python| python.exists())
        .ok_or_else(|| MotoError::NoPython {
            searched: from.display().to_string(),
        })
}

impl Moto {
    /// Starts moto with the Python found from the current folder ([`find_python`]) and waits
    /// until it serves. Blocks (up to [`READY_TIMEOUT`]): from async code, call it in
    /// `spawn_blocking`.
    pub fn start() -> Result<Moto, MotoError> {
        let here = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
        Moto::start_from(&here)
    }

    /// Starts moto with `python` when given (and not blank), else like [`Moto::start`]. Lets a
    /// caller whose settings come from more than the process environment (`relay local`'s
    /// `--env-file`/`--set`) pass its own `RELAY_PYTHON`. Blocks like [`Moto::start`].
    pub fn start_with_python(python: Option<PathBuf>) -> Result<Moto, MotoError> {
        match python.filter(|path| !path.as_os_str().is_empty()) {
            Some(python) => Moto::start_with(&python),
            None => Moto::start(),
        }
    }

    /// Like [`Moto::start`], searching for `.venv` from `folder` instead.
    pub fn start_from(folder: &Path) -> Result<Moto, MotoError> {
        Moto::start_with(&find_python(folder)?)
    }

    /// Starts moto with `python` and waits until it serves.
    pub fn start_with(python: &Path) -> Result<Moto, MotoError> {
        let mut child = Command::new(python)
            .arg("-c")
            .arg(SERVER_SCRIPT)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|source| MotoError::Spawn {
                python: python.display().to_string(),
                source,
            })?;
        let Some(stdout) = child.stdout.take() else {
            kill(&mut child);
            return Err(MotoError::NotReady {
                reason: "its standard output is not readable".into(),
            });
        };
        // Read the line on a thread so a moto that hangs cannot hang the caller.
        let (sender, receiver) = mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let read = BufReader::new(stdout).read_line(&mut line);
            let _ = sender.send(read.map(|_| line));
        });
        let ready = match receiver.recv_timeout(READY_TIMEOUT) {
            Ok(Ok(line)) if !line.trim().is_empty() => serde_json::from_str::<Ready>(&line)
                .map_err(|error| format!("it printed an unexpected line ({error})")),
            Ok(Ok(_)) => Err(match child.wait() {
                Ok(status) => format!("it exited ({status}) before it was ready"),
                Err(error) => format!("it exited before it was ready ({error})"),
            }),
            Ok(Err(error)) => Err(format!("its output is unreadable ({error})")),
            Err(_) => Err(format!(
                "it said nothing within {} s",
                READY_TIMEOUT.as_secs()
            )),
        };
        match ready {
            Ok(ready) => Ok(Moto {
                child,
                endpoint: ready.endpoint,
            }),
            Err(reason) => {
                kill(&mut child);
                Err(MotoError::NotReady { reason })
            }
        }
    }

    /// `http://127.0.0.1:PORT`, for `AWS_ENDPOINT_URL` or an SDK `endpoint_url`.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The process id, for tools that stop it themselves or check that it is gone.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Shared SDK config pointing at this moto with static test credentials, over the
    /// functions' own HTTP client ([`super::aws_sdk_loader`]).
    pub async fn sdk_config(&self) -> aws_config::SdkConfig {
        super::aws_sdk_loader()
            .endpoint_url(&self.endpoint)
            .region(Region::new(MOTO_REGION))
            .credentials_provider(Credentials::new(
                MOTO_ACCESS_KEY_ID,
                MOTO_SECRET_ACCESS_KEY,
                None,
                None,
                "moto",
            ))
            .load()
            .await
    }

    /// Kills the process and waits for it (what dropping does, said explicitly).
    pub fn stop(self) {
        drop(self);
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        kill(&mut self.child);
    }
}

/// Kills `child` by its PID and reaps it, so no zombie is left either.
fn kill(child: &mut Child) {
    let _ = child.kill();
    let _ = child.wait();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn when_a_parent_folder_has_a_venv_then_its_python_is_found() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let python = root.join(".venv/bin/python");
        std::fs::create_dir_all(python.parent().unwrap()).unwrap();
        std::fs::write(&python, "").unwrap();
        let nested = root.join("a/b");
        std::fs::create_dir_all(&nested).unwrap();
        assert_eq!(search(&nested, None).unwrap(), python);
        let given = PathBuf::from("/opt/python");
        assert_eq!(
            search(&nested, Some(given.clone().into_os_string())).unwrap(),
            given,
            "RELAY_PYTHON wins"
        );
    }

    #[test]
    fn when_no_venv_exists_then_the_error_says_make_venv() {
        let dir = tempfile::tempdir().unwrap();
        let error = search(dir.path(), None).unwrap_err();
        assert!(error.to_string().contains("make venv"), "{error}");
    }

    #[test]
    fn when_python_exits_before_printing_then_it_is_not_ready() {
        // `false` ignores its arguments and exits 1 at once, as a Python without moto would.
        let error = Moto::start_with(Path::new("false")).unwrap_err();
        assert!(matches!(error, MotoError::NotReady { .. }), "{error}");
    }
}
