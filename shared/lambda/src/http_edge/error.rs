//! [`EdgeError`]: why an event could not become an HTTP request.

/// Why an API Gateway HTTP API event could not become an HTTP request. Each variant names the
/// header or event field at fault and never holds its value: the value came from the caller
/// and may be anything.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EdgeError {
    /// The event does not have the shape of an API Gateway HTTP API (payload 2.0) event, for
    /// instance a header value holding a control character.
    #[error("the event is not a valid API Gateway HTTP API (payload 2.0) event (at `{field}`)")]
    Event {
        /// The path of the field that could not be read (`headers.x-example`, `.`).
        field: String,
    },
    /// The `Host` header is not a host with an optional port.
    #[error("the Host header is not a valid host (a name or an address, with an optional port)")]
    Host,
    /// There is no `Host` header and `requestContext.domainName` is not a valid host.
    #[error("requestContext.domainName is not a valid host")]
    DomainName,
    /// The `X-Forwarded-Proto` header is not `http` or `https`.
    #[error("the X-Forwarded-Proto header is not `http` or `https`")]
    ForwardedProto,
    /// `rawPath` (with the stage) does not make a valid URI path.
    #[error("rawPath is not a valid URI path")]
    Path,
    /// `rawQueryString` does not make a valid URI query.
    #[error("rawQueryString is not a valid URI query")]
    Query,
    /// The `cookies` cannot be sent on as a `Cookie` header.
    #[error("the cookies are not valid Cookie header values")]
    Cookies,
    /// `isBase64Encoded` is true but the body is not valid base64.
    #[error("the body is marked base64-encoded (isBase64Encoded) but is not valid base64")]
    Base64Body,
}

impl EdgeError {
    /// The header or event field at fault, for answers that name it apart from the message:
    /// `Host`, `X-Forwarded-Proto`, `body`, `rawPath`, or the field's path for [`EdgeError::Event`].
    pub fn location(&self) -> &str {
        match self {
            EdgeError::Event { field } => field,
            EdgeError::Host => "Host",
            EdgeError::DomainName => "requestContext.domainName",
            EdgeError::ForwardedProto => "X-Forwarded-Proto",
            EdgeError::Path => "rawPath",
            EdgeError::Query => "rawQueryString",
            EdgeError::Cookies => "cookies",
            EdgeError::Base64Body => "body",
        }
    }
}
