import Synchronization

/// Node ids the kernel holds, and how many lookups it holds on each.
///
/// Every entry the kernel receives (LOOKUP, each READDIRPLUS entry but `.` and `..`) adds one lookup to its node,
/// and FORGET subtracts; the kernel never forgets the root. Ids are computed from keys (``NodeNumbering``) so a
/// node can be named before it is counted; only keys that do not fit are allocated here.
///
/// Thread safety: one mutex guards all state, held only for dictionary operations.
final class NodeTable: Sendable {
    private struct State {
        /// Lookups held by the kernel per node; absent means none.
        var lookups: [UInt64: UInt64] = [:]
        var allocated: [UInt64: NodeKey] = [:]
        var allocatedByKey: [NodeKey: UInt64] = [:]
        var nextAllocated = NodeNumbering.allocatedBit | 1
        /// FORGETs of nodes the kernel held no lookups on: a bug somewhere, counted so tests see it.
        var unbalancedForgets = 0
    }

    private let state = Mutex(State())
    private let numbering: NodeNumbering
    let rootKey: NodeKey

    init(rootFileID: String) {
        numbering = NodeNumbering(rootFileID: rootFileID)
        rootKey = .object(FileObject(snapshot: nil, fileID: rootFileID))
    }

    /// The node for a key, without counting a lookup.
    /// - Complexity: O(1).
    func node(for key: NodeKey) -> NodeID {
        if key == rootKey { return .root }
        if let number = numbering.number(of: key) { return NodeID(rawValue: number) }
        return state.withLock { state in
            if let number = state.allocatedByKey[key] { return NodeID(rawValue: number) }
            let number = state.nextAllocated
            state.nextAllocated += 1
            state.allocated[number] = key
            state.allocatedByKey[key] = number
            return NodeID(rawValue: number)
        }
    }

    /// The key of a node the kernel names; nil for ids this mount never gave out.
    func key(of node: NodeID) -> NodeKey? {
        if node == .root { return rootKey }
        if let key = numbering.key(of: node.rawValue) { return key }
        return state.withLock { $0.allocated[node.rawValue] }
    }

    /// `st_ino` of a node: the node id, but the root's is its file id.
    func inode(of node: NodeID) -> UInt64 {
        if node == .root, case .object(let root) = rootKey, let id = UInt64(root.fileID) { return id }
        return node.rawValue
    }

    /// Adds one lookup to each node (the root is never counted).
    func remember(_ nodes: some Sequence<NodeID>) {
        state.withLock { state in
            for node in nodes where node != .root {
                state.lookups[node.rawValue, default: 0] += 1
            }
        }
    }

    /// Takes `count` lookups away; the node is dropped at zero.
    func forget(_ node: NodeID, lookups count: UInt64) {
        guard node != .root else { return }
        state.withLock { state in
            guard let held = state.lookups[node.rawValue], held >= count else {
                state.unbalancedForgets += 1
                state.lookups[node.rawValue] = nil
                return
            }
            state.lookups[node.rawValue] = held == count ? nil : held - count
        }
    }

    /// Lookups the kernel holds now, per node: what tests compare with the calls they made.
    var heldLookups: [NodeID: UInt64] {
        state.withLock { Dictionary(uniqueKeysWithValues: $0.lookups.map { (NodeID(rawValue: $0), $1) }) }
    }

    var unbalancedForgets: Int { state.withLock { $0.unbalancedForgets } }

    /// Checks the table's invariants; tests call it after every change.
    func checkInvariants() {
        state.withLock { state in
            precondition(state.lookups.values.allSatisfy { $0 > 0 }, "a node is held with zero lookups")
            precondition(state.allocated.count == state.allocatedByKey.count, "allocation maps disagree")
            for (number, key) in state.allocated {
                precondition(state.allocatedByKey[key] == number, "allocation maps disagree on \(key)")
                precondition(number & NodeNumbering.allocatedBit != 0 && number < state.nextAllocated)
            }
        }
    }
}
