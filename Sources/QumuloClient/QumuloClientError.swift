import QumuloAPI

/// Every failure the client reports: what kind, a one-line message fit for a terminal, and for requests the
/// method, path and HTTP status. Never the bearer token or password: neither is ever put into one.
///
/// The filesystem layer maps ``code`` (and, for ``Code/api``, ``status`` and ``errorClass``) to an errno in its
/// one table; everything else is for people.
public struct QumuloClientError: Error, CustomStringConvertible {
    /// The kinds of failure; each says whether trying the same request again can help.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let name: String

        /// The server answered with an error status; see ``QumuloClientError/status`` and `errorClass`.
        public static let api = Code(name: "api")
        /// The connection could not be made, or broke: refused, reset, closed early.
        public static let connection = Code(name: "connection")
        /// Connecting, the first byte or the whole request took longer than its timeout.
        public static let timeout = Code(name: "timeout")
        /// The server's certificate was refused: untrusted, for another name, or not the pinned one.
        public static let tls = Code(name: "tls")
        /// Logging in failed, or the server refused the credentials even after a fresh login.
        public static let authentication = Code(name: "authentication")
        /// No usable credentials were found or given.
        public static let credentials = Code(name: "credentials")
        /// The answer was not what the API promises (undecodable JSON, too long, a foreign `paging.next`).
        public static let invalidResponse = Code(name: "invalid response")
        /// A resumed read found the file changed since its first part; the range is read again from its start.
        public static let changedDuringRead = Code(name: "changed during read")
        /// The caller passed something unusable (a malformed URL or fingerprint).
        public static let invalidArgument = Code(name: "invalid argument")
        /// Anything else that went wrong on this side before an answer came.
        public static let client = Code(name: "client")

        public var description: String { name }
    }

    public var code: Code
    public var message: String
    /// The request's method and server-relative path (with its query), when a request failed.
    public var method: String?
    public var path: String?
    /// The HTTP status, when the server answered.
    public var status: Int?
    /// The decoded error body, when the server sent one.
    public var body: APIErrorBody?
    /// How many attempts were made before giving up.
    public var attempts = 1
    /// The underlying error, when there is one.
    public var cause: (any Error)?

    public init(code: Code, message: String, method: String? = nil, path: String? = nil, status: Int? = nil,
                body: APIErrorBody? = nil, cause: (any Error)? = nil) {
        self.code = code
        self.message = message
        self.method = method
        self.path = path
        self.status = status
        self.body = body
        self.cause = cause
    }

    /// The Qumulo `error_class`, e.g. `fs_no_such_entry_error`.
    public var errorClass: String? { body?.errorClass }

    /// One line: `GET /v1/files/%2Fx/info/attributes: 404 fs_no_such_entry_error: no such entry`.
    public var description: String {
        var line = ""
        if let method, let path { line += "\(method) \(path): " }
        if let status { line += "\(status) " }
        if let errorClass { line += "\(errorClass): " }
        line += message
        if attempts > 1 { line += " (after \(attempts) attempts)" }
        return line
    }

    /// Whether sending the same idempotent request again may succeed.
    var isRetryable: Bool {
        switch code {
        case .connection, .timeout, .changedDuringRead: true
        case .api: status.map { [502, 503, 504].contains($0) } ?? false
        default: false
        }
    }
}
