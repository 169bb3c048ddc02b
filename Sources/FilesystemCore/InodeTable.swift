import QumuloAPI
import Synchronization

/// Every object this mount knows, each with its one ``InodeState``, and which of them are active: held by an open
/// handle, or with changes still to send. Active inodes are never dropped; idle ones go, those used longest ago
/// first, once there are more than `capacity`.
///
/// Locking: one mutex over the dictionaries. An inode's own lock may be taken while it is held (opening and
/// closing handles are one step with the table, so a last release never drops an inode another open just took);
/// the table's lock is never taken while an inode's is held.
final class InodeTable: Sendable {
    private struct State {
        var inodes: [FileObject: InodeState] = [:]
        var active: [FileObject: InodeState] = [:]
    }

    private let state = Mutex(State())
    let capacity: Int
    let policy: InodeState.WritePolicy

    init(capacity: Int, policy: InodeState.WritePolicy) {
        self.capacity = capacity
        self.policy = policy
    }

    /// The inode of `object`, made if it is new.
    /// - Complexity: amortized O(1).
    func inode(_ object: FileObject) -> InodeState {
        state.withLock { state in
            if let inode = state.inodes[object] { return inode }
            let inode = InodeState(object: object, policy: policy)
            state.inodes[object] = inode
            if state.inodes.count > capacity { Self.evict(&state, keeping: capacity * 3 / 4) }
            return inode
        }
    }

    /// The inode of `object` if this mount knows it.
    func existing(_ object: FileObject) -> InodeState? {
        state.withLock { $0.inodes[object] }
    }

    /// The inode of `object` if it is active: open, or with changes to send.
    func active(_ object: FileObject) -> InodeState? {
        state.withLock { $0.active[object] }
    }

    var activeInodes: [InodeState] { state.withLock { Array($0.active.values) } }

    var hasActive: Bool { state.withLock { !$0.active.isEmpty } }

    /// Opens one more handle on `object`'s inode.
    func addHandle(_ object: FileObject) -> InodeState {
        state.withLock { state in
            let inode = state.inodes[object] ?? InodeState(object: object, policy: policy)
            state.inodes[object] = inode
            state.active[object] = inode
            inode.addHandle()
            return inode
        }
    }

    /// Closes a handle; returns whether it was the last. The inode stays active while it has changes to send.
    func removeHandle(_ inode: InodeState) -> Bool {
        state.withLock { state in
            guard inode.removeHandle() else { return false }
            Self.settle(inode, in: &state)
            return true
        }
    }

    /// After the last handle closed: an inode with nothing left to send is no longer active. Returns whether it
    /// is still closed (no open took it meanwhile).
    func settle(_ inode: InodeState) -> Bool {
        state.withLock { state in
            Self.settle(inode, in: &state)
            return !inode.isOpen
        }
    }

    private static func settle(_ inode: InodeState, in state: inout State) {
        guard state.active[inode.object] === inode, !inode.isOpen, !inode.hasPendingChanges else { return }
        state.active[inode.object] = nil
    }

    /// Stops trusting the attributes of every inode that `matches`; with `invalidating`, copies in listings too.
    func expireAll(invalidating: Bool, now: ContinuousClock.Instant, where matches: (FileObject, FileAttributes) -> Bool) {
        for inode in state.withLock({ Array($0.inodes.values) }) {
            guard let known = inode.known, matches(inode.object, known) else { continue }
            if invalidating { inode.invalidate(now: now) } else { inode.expire() }
        }
    }

    var count: Int { state.withLock { $0.inodes.count } }

    /// Drops idle inodes, those used longest ago first, down to `keep`.
    private static func evict(_ state: inout State, keeping keep: Int) {
        let idle = state.inodes.filter { state.active[$0.key] == nil && $0.value.isIdle }
        let excess = state.inodes.count - keep
        let oldest = idle.map { ($0.key, $0.value.lastUsed) }.sorted { usedEarlier($0.1, $1.1) }.prefix(excess)
        for (object, _) in oldest { state.inodes[object] = nil }
    }

    /// Whether `first` came before `second`; never (nil) comes first.
    private static func usedEarlier(_ first: ContinuousClock.Instant?, _ second: ContinuousClock.Instant?) -> Bool {
        switch (first, second) {
        case (nil, .some): true
        case (.some(let first), .some(let second)): first < second
        default: false
        }
    }

    /// Checks what must hold after every step; traps on a violation. For tests.
    func checkInvariants() {
        let (inodes, active) = state.withLock { ($0.inodes, $0.active) }
        for (object, inode) in active {
            precondition(inodes[object] === inode, "\(object): active but not in the table")
        }
        for (object, inode) in inodes {
            precondition(inode.object == object, "\(object): filed under another object")
            if inode.isOpen || inode.hasPendingChanges {
                precondition(active[object] === inode, "\(object): open or with changes to send, but not active")
            }
            inode.checkInvariants()
        }
    }
}
