import HummingbirdCore
import Logging
import NIOCore
import Synchronization

/// How many connections each client address holds open, against a cap per address.
///
/// Without a cap one client (a leak, a script, an attack) could hold every file descriptor the process has, and
/// each accept past the limit would fail and be retried at once while every other client waits.
final class ConnectionCensus: Sendable {
    let limitPerAddress: Int
    /// Open connections by client address; an address leaves the table with its last connection.
    private let open = Mutex<[String: Int]>([:])

    init(limitPerAddress: Int) {
        self.limitPerAddress = limitPerAddress
    }

    /// Counts a new connection from `address` if the address is under its cap.
    func admit(_ address: String) -> Bool {
        open.withLock { counts in
            let count = counts[address, default: 0]
            guard count < limitPerAddress else { return false }
            counts[address] = count + 1
            return true
        }
    }

    func release(_ address: String) {
        open.withLock { counts in
            let left = counts[address, default: 1] - 1
            counts[address] = left > 0 ? left : nil
        }
    }
}

/// A server child channel that closes a new connection at once when its address is over the census's cap.
///
/// It wraps the TLS channel, so a refused connection costs no handshake. A refused channel is still set up and
/// handed on (closed), because failing the setup would raise an error on the listening channel itself.
struct AddressLimitedChannel<Base: ServerChildChannel>: ServerChildChannel {
    typealias Value = Base.Value
    let base: Base
    let census: ConnectionCensus

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        let address = channel.remoteAddress?.ipAddress ?? "unknown"
        let admitted = census.admit(address)
        if admitted {
            channel.closeFuture.whenComplete { _ in census.release(address) }
        }
        return base.setup(channel: channel, logger: logger).map { value in
            if !admitted {
                logger.debug("connection refused", metadata: [
                    "net.peer.addr": "\(address)", "net.limit": "\(census.limitPerAddress)",
                ])
                channel.close(promise: nil)
            }
            return value
        }
    }

    func handle(value: Value, logger: Logger) async {
        await base.handle(value: value, logger: logger)
    }
}
