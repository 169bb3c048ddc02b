import Synchronization

/// A test fault, not a Qumulo behaviour: the answer to a request that changed a file is held for a random time
/// after the change was applied, so that answers to requests in flight together can arrive in another order than
/// the one the store applied them in, as they may over a real network.
public struct AnswerDelay: Sendable, Equatable {
    /// Each held answer waits a number of milliseconds drawn uniformly from this range.
    public var milliseconds: ClosedRange<Int>
    /// The same seed draws the same delays in the same order of applied changes.
    public var seed: UInt64

    public init(milliseconds: ClosedRange<Int>, seed: UInt64 = 0) {
        precondition(milliseconds.lowerBound >= 0, "a delay is not negative")
        self.milliseconds = milliseconds
        self.seed = seed
    }
}

/// Draws the delays of one server from one generator, in the order the changes were applied.
final class AnswerDelayer: Sendable {
    private let milliseconds: ClosedRange<Int>
    private let generator: Mutex<SplitMix64>

    init(_ delay: AnswerDelay) {
        milliseconds = delay.milliseconds
        generator = Mutex(SplitMix64(seed: delay.seed))
    }

    /// Called once the change is committed, so a draw's place in the sequence is the change's.
    func hold() async throws {
        let delay = generator.withLock { Int.random(in: milliseconds, using: &$0) }
        try await Task.sleep(for: .milliseconds(delay))
    }
}

/// Small, fast and the same on every platform, unlike the system generator, which cannot be seeded.
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) {
        state = seed
    }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
