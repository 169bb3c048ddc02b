/// Every knob of ``QumuloClient`` in one place, each default with the reason it was chosen.
///
/// The defaults target a FUSE mount of a cluster on a LAN: reads of 1-16 MiB ranges, several in flight per file,
/// and a server that may pause for a node failover. Tests shorten the timeouts; nothing else should need to.
public struct QumuloClientConfiguration: Sendable {
    /// The cluster to talk to.
    public var endpoint: Endpoint

    /// How the server's certificate is checked. Verified against the system's roots by default, because the bearer
    /// token (a cluster administrator's, often) rides on every request.
    public var trust: TLSTrust = .system

    public var timeouts = Timeouts()

    public var retry = Retry()

    /// Connections kept open to the server. HTTP/1.1 carries one request at a time per connection, so this bounds
    /// the requests in flight: 16 covers read-ahead of a few files at 4-8 ranges each (design.md section 2) while
    /// staying far below what a cluster node accepts. Over HTTP/2 one connection multiplexes instead.
    public var maxConnections = 16

    /// How long an unused connection stays in the pool. A FUSE workload comes in bursts (an `ls -l`, a file copy);
    /// 60 s keeps the TLS handshake out of most bursts without pinning sockets on the server for long.
    public var idleConnectionTimeout: Duration = .seconds(60)

    /// Largest JSON answer accepted. The biggest is an entries page: about 1 KiB per child, and the sandbox caps a
    /// page at 10,000 children; 64 MiB leaves room for a cluster that returns more while bounding memory.
    public var maxJSONResponseBytes = 64 << 20

    /// Sent as `User-Agent`, so the cluster's logs tell qfuse traffic apart.
    public var userAgent = "qfuse"

    /// Whether a ``Credentials/password(username:password:)`` stays in memory after its login, to log in again
    /// when the session expires (10 hours on a cluster). A mount turns it off so that a long-lived process does
    /// not hold the secret: its session then ends with the server's, unless the user gave a password file.
    public var keepsPassword = true

    public init(endpoint: Endpoint) {
        self.endpoint = endpoint
    }

    /// Time limits of one attempt of one request; the retry budget then bounds all attempts together.
    public struct Timeouts: Sendable {
        /// TCP connect plus the TLS handshake. A reachable node answers in milliseconds; 10 s rides out a busy
        /// node and a lost SYN, and a dead address still fails fast enough for an interactive `ls`.
        public var connect: Duration = .seconds(10)

        /// Longest silence while waiting for the answer's first byte or between two reads of its body. 30 s allows
        /// a cold read from a cluster's slower tier, and is what turns a server that accepts but never answers into
        /// an error instead of a hung process (sshfs's worst reputation).
        public var readIdle: Duration = .seconds(30)

        /// Longest one attempt may take from start to last byte, even while bytes keep trickling in. 5 minutes lets
        /// a 64 MiB range arrive at 250 KB/s before the attempt is abandoned and retried.
        public var request: Duration = .seconds(300)

        public init() {}
    }

    /// Retries of idempotent requests after a connection error, a timeout or a 502/503/504: exponential backoff
    /// with full jitter (a random delay between zero and the exponential bound), so that many readers cut off at
    /// once do not return at once.
    public struct Retry: Sendable {
        /// Bound of the first delay: short, because most failures are a single reset connection.
        public var initialBackoff: Duration = .milliseconds(50)

        /// Largest bound any delay reaches; doubling stops here so a returning server is noticed within seconds.
        public var maxBackoff: Duration = .seconds(5)

        /// Total time from a request's first attempt after which no retry starts. A Qumulo node failover takes
        /// tens of seconds; 60 s covers it, yet a lost server still gives an error within a minute.
        public var budget: Duration = .seconds(60)

        public init() {}

        /// The delay before retry number `retry` (1 for the first): uniform in `0 ... min(max, initial * 2^(retry-1))`.
        func backoff(beforeRetry retry: Int) -> Duration {
            let bound = min(maxBackoff, initialBackoff * (1 << min(max(retry - 1, 0), 30)))
            return .nanoseconds(Int64(Double.random(in: 0 ... max(bound / .nanoseconds(1), 0))))
        }
    }
}
