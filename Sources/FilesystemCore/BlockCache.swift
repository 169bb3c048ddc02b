import NIOCore
import Synchronization

/// One block of one version of one file's data. The version (the server's `data_revision`) is part of the key,
/// so a file changed on the server can never be served from blocks of its old contents.
struct BlockKey: Hashable, Sendable {
    var object: FileObject
    var version: String
    var index: Int
}

/// File data in fixed-size blocks under one hard byte budget, least recently used out first. A block counts what
/// its buffer holds (its capacity), not just its bytes.
///
/// Concurrent readers of a block share one fetch. Bytes being fetched count against the budget too, so read-ahead
/// can never hold more than the budget; a demand read that finds the budget taken by fetches in flight still
/// fetches, and its block is cached only if room appears.
///
/// The memory of a block that leaves (evicted, or released by a sequential reader that has passed it) goes to the
/// next fetch: its pages are mapped already, while a fresh block-sized buffer comes from `mmap` and costs a page
/// fault and a zeroed page every 4 KiB (profiled at a tenth of the CPU of a cold sequential read). A few released
/// buffers wait as spares, counted in the budget.
///
/// Thread safety: one mutex guards the state; fetches run outside it.
final class BlockCache: Sendable {
    private struct Cached {
        var data: ByteBuffer
        var lastUse: UInt64
    }

    private struct Loading {
        var task: Task<ByteBuffer, any Error>
        var reserved: Int
    }

    private struct State {
        var cached: [BlockKey: Cached] = [:]
        var loading: [BlockKey: Loading] = [:]
        var spares: [ByteBuffer] = []
        var cachedBytes = 0
        var reservedBytes = 0
        var spareBytes = 0
        var clock: UInt64 = 0
        var statistics = BlockCacheStatistics()
    }

    /// A fetch, given memory to reuse when there is some.
    typealias Fetch = @Sendable (_ reusing: consuming ByteBuffer?) async throws -> ByteBuffer

    let budget: Int
    /// Spare buffers kept for fetches to come: a sequential reader releases one block per block it fetches.
    private static let maxSpares = 4
    private let state = Mutex(State())

    init(budget: Int) {
        self.budget = budget
    }

    /// The block's bytes, cached or fetched (once, however many ask at the same time).
    /// - Complexity: O(1) on a hit; an insertion may evict, O(n) in the cached blocks.
    func block(
        _ key: BlockKey, size: Int, fetch: @escaping Fetch
    ) async throws -> ByteBuffer {
        enum Found {
            case hit(ByteBuffer)
            case loading(Task<ByteBuffer, any Error>)
        }
        let found: Found = state.withLock { state in
            if let hit = state.cached[key]?.data {
                state.clock += 1
                state.cached[key]!.lastUse = state.clock
                state.statistics.hits += 1
                return .hit(hit)
            }
            if let loading = state.loading[key] {
                state.statistics.sharedFetches += 1
                return .loading(loading.task)
            }
            state.statistics.misses += 1
            let memory = makeRoom(&state, for: size)
            return .loading(startLoading(key, size: size, memory: memory, fetch: fetch, in: &state))
        }
        // A hit returns at once, without a Task: warm reads are the common case.
        switch found {
        case .hit(let data): return data
        case .loading(let task): return try await task.value
        }
    }

    /// Starts fetching a block ahead of its reader, if it is not cached or loading and the budget has room
    /// once older blocks are evicted.
    func prefetch(_ key: BlockKey, size: Int, fetch: @escaping Fetch) {
        state.withLock { state in
            guard state.cached[key] == nil, state.loading[key] == nil else { return }
            let memory = makeRoom(&state, for: size)
            guard state.cachedBytes + state.reservedBytes + state.spareBytes + size <= budget else {
                if let memory { keepSpare(memory, &state) }
                state.statistics.prefetchesSkipped += 1
                return
            }
            state.statistics.prefetches += 1
            _ = startLoading(key, size: size, memory: memory, fetch: fetch, in: &state)
        }
    }

    /// Drops a block its sequential reader has passed (the kernel's page cache holds what it read), keeping its
    /// memory for the next fetch instead of filling the cache with a stream read once.
    func release(_ key: BlockKey) {
        state.withLock { state in
            guard let released = state.cached.removeValue(forKey: key) else { return }
            state.cachedBytes -= released.data.capacity
            state.statistics.released += 1
            keepSpare(released.data, &state)
        }
    }

    var statistics: BlockCacheStatistics {
        state.withLock { state in
            var statistics = state.statistics
            statistics.cachedBytes = state.cachedBytes
            statistics.reservedBytes = state.reservedBytes
            statistics.spareBytes = state.spareBytes
            statistics.cachedBlocks = state.cached.count
            return statistics
        }
    }

    /// Checks the byte accounting; tests call it after every step.
    func checkInvariants() {
        state.withLock { state in
            precondition(state.cachedBytes == state.cached.values.reduce(0) { $0 + $1.data.capacity })
            precondition(state.reservedBytes == state.loading.values.reduce(0) { $0 + $1.reserved })
            precondition(state.spareBytes == state.spares.reduce(0) { $0 + $1.capacity })
            precondition(state.spares.count <= Self.maxSpares)
            precondition(state.cachedBytes <= budget, "cached \(state.cachedBytes) bytes over a budget of \(budget)")
            precondition(Set(state.cached.keys).isDisjoint(with: state.loading.keys))
        }
    }

    private func startLoading(
        _ key: BlockKey, size: Int, memory: consuming ByteBuffer?, fetch: @escaping Fetch, in state: inout State
    ) -> Task<ByteBuffer, any Error> {
        // A closure's captures stay referenced while it lives; handing the memory over through a box lets the
        // fetch own it alone, as writing into it without a copy requires.
        let handoff = Mutex<ByteBuffer?>(memory)
        let task = Task {
            do {
                let data = try await fetch(handoff.withLock { $0.take() })
                self.finish(key, data)
                return data
            } catch {
                self.finish(key, nil)
                throw error
            }
        }
        state.loading[key] = Loading(task: task, reserved: size)
        state.reservedBytes += size
        return task
    }

    private func finish(_ key: BlockKey, _ data: ByteBuffer?) {
        state.withLock { state in
            guard let loading = state.loading.removeValue(forKey: key) else { return }
            state.reservedBytes -= loading.reserved
            guard let data, data.capacity <= budget else { return }
            evict(&state, toFit: data.capacity)
            guard state.cachedBytes + state.reservedBytes + data.capacity <= budget else { return }
            state.clock += 1
            state.cached[key] = Cached(data: data, lastUse: state.clock)
            state.cachedBytes += data.capacity
        }
    }

    /// Drops spares, then least recently used blocks, until `size` more bytes fit or nothing is left to drop.
    private func evict(_ state: inout State, toFit size: Int) {
        while state.cachedBytes + state.reservedBytes + state.spareBytes + size > budget {
            if let spare = state.spares.popLast() {
                state.spareBytes -= spare.capacity
            } else if evictOldest(&state) == nil {
                return
            }
        }
    }

    /// Drops the least recently used block; returns its memory.
    private func evictOldest(_ state: inout State) -> ByteBuffer? {
        guard let oldest = state.cached.min(by: { $0.value.lastUse < $1.value.lastUse }) else { return nil }
        state.cached[oldest.key] = nil
        state.cachedBytes -= oldest.value.data.capacity
        state.statistics.evictions += 1
        return oldest.value.data
    }

    /// Room for a fetch of `size` bytes, and memory for it if one fits: a spare, or else the block evicted first.
    /// A 4 MiB buffer holding a small file's bytes would hold memory that the fetch never reserved.
    private func makeRoom(_ state: inout State, for size: Int) -> ByteBuffer? {
        var memory: ByteBuffer?
        if let fitting = state.spares.lastIndex(where: { Self.fits($0, size) }) {
            memory = state.spares.remove(at: fitting)
            state.spareBytes -= memory!.capacity
        }
        if memory == nil, state.cachedBytes + state.reservedBytes + state.spareBytes + size > budget,
           let evicted = evictOldest(&state), Self.fits(evicted, size) {
            memory = evicted
        }
        evict(&state, toFit: size)
        return memory
    }

    /// Whether a buffer holds `size` bytes without reallocating, and without holding twice what it carries.
    private static func fits(_ buffer: ByteBuffer, _ size: Int) -> Bool {
        buffer.capacity >= size && buffer.capacity < 2 * size
    }

    private func keepSpare(_ buffer: ByteBuffer, _ state: inout State) {
        guard state.spares.count < Self.maxSpares,
              state.cachedBytes + state.reservedBytes + state.spareBytes + buffer.capacity <= budget
        else { return }
        state.spares.append(buffer)
        state.spareBytes += buffer.capacity
    }
}

/// What the block cache did, for logs, tests and benchmarks.
public struct BlockCacheStatistics: Hashable, Sendable {
    public var hits = 0
    public var misses = 0
    /// Reads that joined a fetch already under way.
    public var sharedFetches = 0
    public var prefetches = 0
    public var prefetchesSkipped = 0
    public var evictions = 0
    /// Blocks dropped behind sequential readers.
    public var released = 0
    public var cachedBytes = 0
    public var reservedBytes = 0
    public var spareBytes = 0
    public var cachedBlocks = 0
}
