import NIOCore
import NIOPosix

/// A TCP listener on loopback that accepts connections and never says a word: the server that hangs, which
/// only timeouts can turn into an error.
struct DeadServer {
    let channel: any Channel

    var port: Int { channel.localAddress?.port ?? 0 }

    static func start() async throws -> DeadServer {
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { $0.eventLoop.makeSucceededVoidFuture() }
            .bind(host: "127.0.0.1", port: 0).get()
        return DeadServer(channel: channel)
    }

    func stop() async throws {
        try await channel.close()
    }
}
