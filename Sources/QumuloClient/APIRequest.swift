import NIOCore
import NIOHTTP1

/// One REST call as the transport sends it: everything but the host and the token.
struct APIRequest {
    /// Whether sending it twice is harmless, which is what allows a retry.
    enum Retry {
        /// Same effect however often it arrives: GET, PUT, PATCH at an offset, DELETE of a known id.
        case idempotent
        /// Could apply twice (create, rename, unlink by name, chained copy): sent once, its failure reported.
        case never
    }

    var method: HTTPMethod
    /// Server-relative path with its query, already percent-encoded.
    var path: String
    var body: ByteBuffer?
    var contentType = "application/json"
    var ifMatch: String?
    var retry: Retry
    /// False only for the login itself.
    var authenticated = true
    /// Takes a successful answer's body as it arrives; without one the body is gathered for the caller.
    var sink: BodySink?

    init(_ method: HTTPMethod, _ path: String, body: ByteBuffer? = nil, contentType: String = "application/json",
         ifMatch: String? = nil, retry: Retry, authenticated: Bool = true) {
        self.method = method
        self.path = path
        self.body = body
        self.contentType = contentType
        self.ifMatch = ifMatch
        self.retry = retry
        self.authenticated = authenticated
    }
}
