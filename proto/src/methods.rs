//! Every RPC method, generated from the `service` blocks of
//! proto/stackwire.proto and grpc/health/v1/health.proto by proto/build.rs:
//! one path constant per method (`QUESTION_GET` for
//! `/stackwire.QuestionService/Get`) and [`ALL`], the table the registry
//! descriptors, the retry rules and the servers read. No method path is
//! written anywhere else.

/// The proto's `idempotency_level` method option.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Idempotency {
    /// Not marked: the call may change state; never repeated once sent.
    Unknown,
    /// Only reads (`NO_SIDE_EFFECTS`).
    NoSideEffects,
    /// Changes state, and doing it twice is the same as once (`IDEMPOTENT`).
    Idempotent,
}

/// One method as its proto declares it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Method {
    /// `/package.Service/Method`, as it travels.
    pub path: &'static str,
    /// `package.Service`.
    pub service: &'static str,
    /// Message names without package, as the registry descriptors show them.
    pub request: &'static str,
    pub response: &'static str,
    pub client_streaming: bool,
    pub server_streaming: bool,
    pub idempotency: Idempotency,
}

include!(concat!(env!("OUT_DIR"), "/methods.rs"));

/// The method with this path.
pub fn find(path: &str) -> Option<&'static Method> {
    ALL.iter().find(|m| m.path == path)
}

/// Every method of service `package.Service`, in proto order.
pub fn of_service(service: &str) -> impl Iterator<Item = &'static Method> + '_ {
    ALL.iter().filter(move |m| m.service == service)
}

/// True when a call of `path` may be repeated after it was sent (it only
/// reads, or it is marked idempotent): the retry rules ask this. Unknown
/// paths are not.
pub fn is_idempotent(path: &str) -> bool {
    find(path).is_some_and(|m| m.idempotency != Idempotency::Unknown)
}

/// The FileDescriptorSet of every proto file, for server reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/descriptors.bin"));
