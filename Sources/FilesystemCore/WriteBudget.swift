import Synchronization

/// The bytes written through the mount and not yet on the server, bounded: a writer waits while the budget is
/// spent, so a fast writer on a slow link holds at most this much memory (part of the mount's memory bound).
final class WriteBudget: Sendable {
    private struct State {
        var used = 0
        var waiters: [(bytes: Int, continuation: CheckedContinuation<Void, Never>)] = []
    }

    let limit: Int
    private let state = Mutex(State())

    init(limit: Int) {
        self.limit = limit
    }

    var used: Int { state.withLock { $0.used } }

    /// Whether `bytes` would be granted without waiting.
    func hasRoom(for bytes: Int) -> Bool {
        state.withLock { $0.waiters.isEmpty && ($0.used == 0 || $0.used + bytes <= limit) }
    }

    /// Takes `bytes`, waiting until they fit. A request larger than the whole budget goes through once nothing
    /// else is held, so it cannot wait forever.
    func acquire(_ bytes: Int) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let granted = state.withLock { state in
                guard state.waiters.isEmpty, state.used == 0 || state.used + bytes <= limit else {
                    state.waiters.append((bytes, continuation))
                    return false
                }
                state.used += bytes
                return true
            }
            if granted { continuation.resume() }
        }
    }

    /// Gives `bytes` back and lets waiting writers in, first come first served.
    func release(_ bytes: Int) {
        guard bytes != 0 else { return }
        let woken = state.withLock { state in
            state.used -= bytes
            var woken: [CheckedContinuation<Void, Never>] = []
            while let next = state.waiters.first, state.used == 0 || state.used + next.bytes <= limit {
                state.used += next.bytes
                woken.append(next.continuation)
                state.waiters.removeFirst()
            }
            return woken
        }
        for continuation in woken { continuation.resume() }
    }
}
