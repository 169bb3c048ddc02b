/// Counters of everything the client did since it started; read with ``QumuloClient/metrics`` as one consistent
/// snapshot, so the filesystem layer can report requests per operation and what its caches saved.
public struct ClientMetrics: Hashable, Sendable {
    /// HTTP requests sent, counting each attempt.
    public var requests = 0
    /// Response body bytes received (data and JSON).
    public var bytesRead: Int64 = 0
    /// Request body bytes sent.
    public var bytesWritten: Int64 = 0
    /// Attempts that were repeated after a retryable failure.
    public var retries = 0
    /// Calls that failed, as seen by the caller (after any retries).
    public var errors = 0
    /// Logins, the first one and every renewal after a 401.
    public var logins = 0

    public init() {}
}
