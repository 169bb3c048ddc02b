import Hummingbird
import NIOCore

/// Hummingbird's basic request context plus the client's address, which login throttling counts by.
struct SandboxRequestContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    /// The client's IP address, or its Unix socket path; `unknown` when the channel has none.
    let clientAddress: String

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        let remote = source.channel.remoteAddress
        clientAddress = remote?.ipAddress ?? remote?.pathname ?? "unknown"
    }
}
