//! Blocking HTTP GET with timeouts, a size limit and bounded retries, and
//! errors that name the failed endpoint and the fix.
//!
//! Only plain `http://` is supported (no TLS is compiled in), and proxy
//! settings in the environment are ignored, so requests always go straight
//! to the address given on the command line.

use std::io;
use std::time::Duration;

use super::stop::Stop;

/// Maximum wait between two attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(10);

/// Bytes of an error response's body quoted in the message.
const ERROR_BODY_EXCERPT: u64 = 512;

/// Settings of every request.
#[derive(Clone, Copy, Debug)]
pub struct FetchOptions {
    /// Maximum wait for the TCP connection.
    pub connect_timeout: Duration,
    /// Maximum wait for a whole request, from connecting to the last byte of
    /// the response.
    pub timeout: Duration,
    /// Attempts after the first one for errors that may pass: failed
    /// connections, timeouts and 5xx responses.
    pub retries: u32,
    /// Wait before the first retry; it doubles with each further retry, up to
    /// 10 s.
    pub backoff: Duration,
    /// Largest response body accepted, in bytes.
    pub max_body_bytes: u64,
}

/// Kind of endpoint a URL serves, for the hints in error messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Endpoint {
    Heap,
    Goroutine,
    Metrics,
    Expvar,
}

impl Endpoint {
    fn not_found_hint(self) -> &'static str {
        match self {
            Endpoint::Heap | Endpoint::Goroutine => {
                "pprof is not served there; import _ \"net/http/pprof\" in the service and serve \
                 http.DefaultServeMux, or give the URL the pprof handlers are mounted under"
            }
            Endpoint::Metrics => {
                "no metrics are served there; give the Prometheus endpoint with --metrics-url"
            }
            Endpoint::Expvar => {
                "expvar is not served there; import _ \"expvar\" in the service, or give the \
                 endpoint with --expvar-url"
            }
        }
    }
}

/// Error of one request. Each message starts with the URL.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("{url}: connection refused; is the service running and serving net/http/pprof?")]
    Refused { url: String },
    #[error("{url}: timed out after {after:?} {stage}; raise --timeout or --connect-timeout if the service is slow")]
    Timeout {
        url: String,
        after: Duration,
        stage: &'static str,
    },
    #[error("{url}: 404 Not Found; {hint}")]
    NotFound { url: String, hint: &'static str },
    #[error("{url}: HTTP status {status}{}", body_suffix(.body))]
    Status {
        url: String,
        status: u16,
        body: String,
    },
    #[error("{url}: response is larger than the limit of {limit} bytes (--max-profile-bytes); raise the limit if the service is trusted")]
    TooLarge { url: String, limit: u64 },
    #[error("{url}: host not found; check the host name in the URL")]
    HostNotFound { url: String },
    #[error("{url}: request failed: {reason}")]
    Transport {
        url: String,
        reason: String,
        retryable: bool,
    },
    #[error("{url}: stopped by Ctrl-C while waiting to retry")]
    Interrupted { url: String },
}

fn body_suffix(body: &str) -> String {
    if body.is_empty() {
        String::new()
    } else {
        format!(" with the response {body:?}")
    }
}

impl FetchError {
    /// True for errors that another attempt may not meet: failed
    /// connections, timeouts, dropped connections and 5xx statuses.
    pub fn is_retryable(&self) -> bool {
        match self {
            FetchError::Refused { .. } | FetchError::Timeout { .. } => true,
            FetchError::Status { status, .. } => *status >= 500,
            FetchError::Transport { retryable, .. } => *retryable,
            _ => false,
        }
    }
}

/// A failed attempt that will be retried.
#[derive(Debug)]
pub struct Retry<'a> {
    pub error: &'a FetchError,
    /// Number of the attempt that failed, from 1.
    pub attempt: u32,
    /// Attempts allowed in all.
    pub attempts: u32,
    pub delay: Duration,
}

/// An HTTP client with the options of one recording.
pub struct Client {
    agent: ureq::Agent,
    options: FetchOptions,
}

impl Client {
    pub fn new(options: FetchOptions) -> Self {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .proxy(None)
            .max_redirects(3)
            .timeout_connect(Some(options.connect_timeout))
            .timeout_global(Some(options.timeout))
            .user_agent(concat!("pprof-chain/", env!("CARGO_PKG_VERSION")))
            .build()
            .into();
        Client { agent, options }
    }

    /// Fetches `url`, retrying errors that may pass with exponential
    /// backoff. `on_retry` is called before each wait; a stop request ends
    /// the wait and returns [`FetchError::Interrupted`].
    pub fn get(
        &self,
        url: &str,
        endpoint: Endpoint,
        stop: &Stop,
        on_retry: &mut dyn FnMut(&Retry<'_>),
    ) -> Result<Vec<u8>, FetchError> {
        let attempts = self.options.retries.saturating_add(1);
        let mut delay = self.options.backoff;
        let mut attempt = 1;
        loop {
            let error = match self.get_once(url, endpoint) {
                Ok(body) => return Ok(body),
                Err(error) => error,
            };
            if attempt >= attempts || !error.is_retryable() {
                return Err(error);
            }
            on_retry(&Retry {
                error: &error,
                attempt,
                attempts,
                delay,
            });
            if stop.sleep(delay) {
                return Err(FetchError::Interrupted {
                    url: url.to_string(),
                });
            }
            delay = (delay * 2).min(MAX_BACKOFF);
            attempt += 1;
        }
    }

    fn get_once(&self, url: &str, endpoint: Endpoint) -> Result<Vec<u8>, FetchError> {
        let mut response = self
            .agent
            .get(url)
            .call()
            .map_err(|e| self.classify(url, e))?;
        let status = response.status().as_u16();
        if status == 200 {
            return response
                .body_mut()
                .with_config()
                .limit(self.options.max_body_bytes)
                .read_to_vec()
                .map_err(|e| self.classify(url, e));
        }
        if status == 404 {
            return Err(FetchError::NotFound {
                url: url.to_string(),
                hint: endpoint.not_found_hint(),
            });
        }
        // The body of an error response often states the cause (Go's
        // pprof handler writes "Unknown profile", for example), so a short
        // excerpt goes into the message. Failing to read it is not an error.
        let body = response
            .body_mut()
            .with_config()
            .limit(ERROR_BODY_EXCERPT)
            .read_to_vec()
            .unwrap_or_default();
        Err(FetchError::Status {
            url: url.to_string(),
            status,
            body: String::from_utf8_lossy(&body).trim().to_string(),
        })
    }

    fn classify(&self, url: &str, error: ureq::Error) -> FetchError {
        let url = url.to_string();
        match error {
            ureq::Error::Io(e) if e.kind() == io::ErrorKind::ConnectionRefused => {
                FetchError::Refused { url }
            }
            ureq::Error::Io(e) => {
                let retryable = matches!(
                    e.kind(),
                    io::ErrorKind::ConnectionReset
                        | io::ErrorKind::ConnectionAborted
                        | io::ErrorKind::BrokenPipe
                        | io::ErrorKind::UnexpectedEof
                        | io::ErrorKind::Interrupted
                );
                FetchError::Transport {
                    url,
                    reason: e.to_string(),
                    retryable,
                }
            }
            ureq::Error::Timeout(stage) => {
                let (after, stage) = match stage {
                    ureq::Timeout::Connect => (self.options.connect_timeout, "while connecting"),
                    _ => (self.options.timeout, "before the response was complete"),
                };
                FetchError::Timeout { url, after, stage }
            }
            ureq::Error::BodyExceedsLimit(limit) => FetchError::TooLarge { url, limit },
            ureq::Error::HostNotFound => FetchError::HostNotFound { url },
            ureq::Error::ConnectionFailed => FetchError::Transport {
                url,
                reason: "failed to connect to any of the host's addresses".to_string(),
                retryable: true,
            },
            other => FetchError::Transport {
                url,
                reason: other.to_string(),
                retryable: false,
            },
        }
    }
}
