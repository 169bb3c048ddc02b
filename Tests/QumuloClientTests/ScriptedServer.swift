import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import Synchronization

/// An HTTPS server whose every answer a test chooses, for behaviour the sandbox never shows (a 503, a foreign
/// `paging.next`). It presents the certificate and key it is given.
final class ScriptedServer: Sendable {
    typealias Answer = (status: HTTPResponseStatus, body: String)

    private let channel: any Channel
    private let log = RequestLog()

    var port: Int { channel.localAddress?.port ?? 0 }
    /// `METHOD /path?query` of every request received, in order.
    var requests: [String] { log.entries.withLock { $0 } }

    /// Starts on a free loopback port; `answer` gets the request line and how many requests came before it.
    init(certificate: String, key: String, answer: @escaping @Sendable (_ request: String, _ index: Int) -> Answer) async throws {
        let tls = TLSConfiguration.makeServerConfiguration(
            certificateChain: try NIOSSLCertificate.fromPEMFile(certificate).map { .certificate($0) },
            privateKey: .privateKey(try NIOSSLPrivateKey(file: key, format: .pem)))
        let context = try NIOSSLContext(configuration: tls)
        let log = self.log
        channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: context))
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(Responder(log: log, answer: answer))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
    }

    func stop() async throws {
        try await channel.close()
    }

    private final class RequestLog: Sendable {
        let entries = Mutex<[String]>([])

        /// Records a request and returns how many came before it.
        func append(_ request: String) -> Int {
            entries.withLock { entries in
                entries.append(request)
                return entries.count - 1
            }
        }
    }

    /// Answers each request once its end arrives, with what the script says.
    private final class Responder: ChannelInboundHandler {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart

        let log: RequestLog
        let answer: @Sendable (String, Int) -> Answer
        var head: HTTPRequestHead?

        init(log: RequestLog, answer: @escaping @Sendable (String, Int) -> Answer) {
            self.log = log
            self.answer = answer
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let head):
                self.head = head
            case .body:
                break
            case .end:
                guard let head else { return }
                let line = "\(head.method) \(head.uri)"
                let (status, body) = answer(line, log.append(line))
                var headers = HTTPHeaders([("Content-Type", "application/json"), ("Content-Length", "\(body.utf8.count)")])
                headers.add(name: "ETag", value: "\"1\"")
                context.write(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: status, headers: headers))),
                              promise: nil)
                context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: body)))), promise: nil)
                context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            }
        }
    }
}
