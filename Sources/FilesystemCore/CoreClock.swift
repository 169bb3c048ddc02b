import Synchronization

/// Where the core's caches read the time: the continuous clock in a mount, a hand-moved one in tests, so a test of
/// a timeout moves the clock instead of sleeping through it.
public struct CoreClock: Sendable {
    private let read: @Sendable () -> ContinuousClock.Instant

    public init(_ read: @escaping @Sendable () -> ContinuousClock.Instant) {
        self.read = read
    }

    public var now: ContinuousClock.Instant { read() }

    public static let continuous = CoreClock { ContinuousClock.now }

    /// `seconds` from now as a deadline, with a year standing for "as long as there is room".
    func deadline(in seconds: Double) -> ContinuousClock.Instant {
        now + .milliseconds(Int64(min(seconds, FilesystemConfiguration.forever) * 1000))
    }
}

/// A clock that moves only when told: for tests of expiry.
public final class ManualClock: Sendable {
    private let instant = Mutex(ContinuousClock.now)

    public init() {}

    public var clock: CoreClock {
        CoreClock { [self] in instant.withLock { $0 } }
    }

    public func advance(by seconds: Double) {
        instant.withLock { $0 += .milliseconds(Int64(seconds * 1000)) }
    }
}
