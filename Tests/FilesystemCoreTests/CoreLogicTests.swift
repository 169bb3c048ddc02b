@testable import FilesystemCore
import NIOCore
import QumuloClient
import SystemPackage
import Synchronization
import Testing

@Suite struct ReadAheadWindowTests {
    @Test func growsWhileSequentialUpToTheMaximum() {
        var window = ReadAheadWindow(initial: 4 << 20, maximum: 64 << 20)
        var sizes: [Int] = []
        for read in 0 ..< 8 {
            let ahead = window.observe(offset: UInt64(read) << 20, size: 1 << 20, fileSize: 1 << 40)
            sizes.append(ahead.count)
            #expect(ahead.lowerBound == UInt64(read + 1) << 20)
        }
        #expect(sizes == [4, 8, 16, 32, 64, 64, 64, 64].map { $0 << 20 })
    }

    @Test func toleratesSmallReorderingButNotSeeks() {
        var window = ReadAheadWindow(initial: 1 << 20, maximum: 16 << 20)
        _ = window.observe(offset: 0, size: 1 << 20, fileSize: 1 << 30)
        _ = window.observe(offset: 2 << 20, size: 1 << 20, fileSize: 1 << 30)
        // The kernel's parallel reads arrive out of order: the one it skipped is still sequential.
        #expect(!window.observe(offset: 1 << 20, size: 1 << 20, fileSize: 1 << 30).isEmpty)
        #expect(window.observe(offset: 500 << 20, size: 4096, fileSize: 1 << 30).isEmpty, "a seek closes the window")
        #expect(window.observe(offset: (500 << 20) + 4096, size: 4096, fileSize: 1 << 30).count == 1 << 20,
                "reading on from the seek opens it again, small")
    }

    @Test func neverReachesPastTheEnd() {
        var window = ReadAheadWindow(initial: 4 << 20, maximum: 64 << 20)
        let ahead = window.observe(offset: 0, size: 1 << 20, fileSize: 3 << 20)
        #expect(ahead == (1 << 20) ..< (3 << 20))
        #expect(window.observe(offset: 1 << 20, size: 2 << 20, fileSize: 3 << 20).isEmpty)
    }
}

@Suite struct BlockCacheTests {
    func key(_ index: Int, version: String = "1") -> BlockKey {
        BlockKey(object: FileObject(snapshot: nil, fileID: "7"), version: version, index: index)
    }

    @Test func concurrentReadersShareOneFetch() async throws {
        let cache = BlockCache(budget: 1 << 20)
        let fetches = Counter()
        try await withThrowingTaskGroup(of: ByteBuffer.self) { group in
            for _ in 0 ..< 8 {
                group.addTask {
                    try await cache.block(self.key(0), size: 4) { _ in
                        fetches.increment()
                        try await Task.sleep(for: .milliseconds(50))
                        return ByteBuffer(bytes: [1, 2, 3, 4])
                    }
                }
            }
            for try await block in group { #expect(Array(block.readableBytesView) == [1, 2, 3, 4]) }
        }
        #expect(fetches.value == 1)
        _ = try await cache.block(key(0), size: 4) { _ in Issue.record("a cached block was fetched again"); return ByteBuffer() }
        #expect(cache.statistics.hits == 1 && cache.statistics.misses == 1 && cache.statistics.sharedFetches == 7)
        cache.checkInvariants()
    }

    @Test func neverHoldsMoreThanItsBudget() async throws {
        let cache = BlockCache(budget: 10_000)
        for index in 0 ..< 50 {
            _ = try await cache.block(key(index), size: 2048) { _ in ByteBuffer(repeating: UInt8(index), count: 2048) }
            cache.checkInvariants()
        }
        #expect(cache.statistics.cachedBytes <= 10_000 && cache.statistics.cachedBlocks == 4)
        #expect(cache.statistics.evictions == 46)
        // The most recently used blocks stayed.
        _ = try await cache.block(key(49), size: 2048) { _ in Issue.record("the newest block was evicted"); return ByteBuffer() }
    }

    @Test func versionsNeverMix() async throws {
        let cache = BlockCache(budget: 1 << 20)
        _ = try await cache.block(key(0, version: "1"), size: 1) { _ in ByteBuffer(bytes: [1]) }
        let newer = try await cache.block(key(0, version: "2"), size: 1) { _ in ByteBuffer(bytes: [2]) }
        #expect(Array(newer.readableBytesView) == [2])
    }

    @Test func failedFetchesAreNotCachedAndPrefetchRespectsTheBudget() async throws {
        struct Broken: Error {}
        let cache = BlockCache(budget: 8192)
        await #expect(throws: Broken.self) { try await cache.block(key(0), size: 10) { _ in throw Broken() } }
        #expect(cache.statistics.cachedBlocks == 0)
        cache.prefetch(key(1), size: 8192) { _ in try await Task.sleep(for: .seconds(30)); return ByteBuffer() }
        cache.prefetch(key(2), size: 8192) { _ in Issue.record("prefetched past the budget"); return ByteBuffer() }
        #expect(cache.statistics.prefetchesSkipped == 1 && cache.statistics.reservedBytes == 8192)
        cache.checkInvariants()
    }

    /// Sizes are powers of two here, so a buffer's capacity (what the cache counts) is its size.
    @Test func releasedAndEvictedMemoryGoesToTheNextFetch() async throws {
        let cache = BlockCache(budget: 8192)
        let first = try await cache.block(key(0), size: 2048) { _ in ByteBuffer(repeating: 1, count: 2048) }
        let firstAddress = first.withUnsafeReadableBytes { UInt(bitPattern: $0.baseAddress) }
        _ = consume first
        cache.release(key(0))
        #expect(cache.statistics.cachedBlocks == 0 && cache.statistics.released == 1 && cache.statistics.spareBytes == 2048)
        cache.checkInvariants()
        // The next fetch fills the released block's memory: the same pages, not a new allocation.
        let second = try await cache.block(key(1), size: 2048) { memory in
            guard var buffer = consume memory else { throw CancellationError() }
            buffer.clear()
            buffer.writeRepeatingByte(2, count: 2048)
            return buffer
        }
        #expect(second.withUnsafeReadableBytes { UInt(bitPattern: $0.baseAddress) } == firstAddress)
        #expect(second.readableBytesView.allSatisfy { $0 == 2 } && cache.statistics.spareBytes == 0)
        _ = consume second
        // Releasing what is not cached changes nothing.
        cache.release(key(7))
        // A buffer twice the size of a fetch or more is not handed to it: it would hold memory nobody counted.
        cache.release(key(1))
        let small = try await cache.block(key(8), size: 100) { memory in
            #expect(memory == nil, "a 2048-byte buffer for a 100-byte block")
            return ByteBuffer(repeating: 8, count: 100)
        }
        #expect(cache.statistics.cachedBytes == small.capacity && cache.statistics.spareBytes == 2048)
        _ = try await cache.block(key(1), size: 2048) { memory in
            #expect(memory != nil, "the spare fits a block of its own size")
            return ByteBuffer(repeating: 2, count: 2048)
        }
        _ = try await cache.block(key(2), size: 2048) { _ in ByteBuffer(repeating: 3, count: 2048) }
        _ = try await cache.block(key(3), size: 2048) { _ in ByteBuffer(repeating: 4, count: 2048) }
        // Full: the small block leaves first, its memory too small to reuse; then the oldest full-size one,
        // whose memory the fetch that evicted it gets.
        let reused = Counter()
        for index in 4 ... 5 {
            _ = try await cache.block(key(index), size: 2048) { memory in
                if memory != nil { reused.increment() }
                return ByteBuffer(repeating: UInt8(index), count: 2048)
            }
        }
        #expect(reused.value == 1 && cache.statistics.evictions == 2 && cache.statistics.cachedBlocks == 4)
        cache.checkInvariants()
    }
}

@Suite struct NodeTableTests {
    @Test func numbersRoundTripAndStayDistinct() {
        let table = NodeTable(rootFileID: "2")
        let keys: [NodeKey] = [
            .object(FileObject(snapshot: nil, fileID: "2")), .object(FileObject(snapshot: nil, fileID: "77")),
            .object(FileObject(snapshot: 5, fileID: "77")), .object(FileObject(snapshot: 6, fileID: "77")),
            .snapshotDirectory(of: "77"), .object(FileObject(snapshot: nil, fileID: "99999999999999999")),
            .object(FileObject(snapshot: 1 << 30, fileID: "3")),
        ]
        let nodes = keys.map(table.node(for:))
        #expect(nodes[0] == .root)
        #expect(Set(nodes).count == keys.count)
        #expect(Set(nodes.map(table.inode(of:))).count == keys.count)
        for (key, node) in zip(keys, nodes) { #expect(table.key(of: node) == key) }
        #expect(table.inode(of: .root) == 2 && table.inode(of: nodes[1]) == 77)
        #expect(table.key(of: NodeID(rawValue: NodeNumbering.allocatedBit | 999)) == nil)
        table.checkInvariants()
    }

    @Test func countsLookupsExactly() {
        let table = NodeTable(rootFileID: "2")
        let a = table.node(for: .object(FileObject(snapshot: nil, fileID: "10")))
        let b = table.node(for: .object(FileObject(snapshot: 3, fileID: "10")))
        table.remember([a, a, b, .root])
        table.checkInvariants()
        #expect(table.heldLookups == [a: 2, b: 1])
        table.forget(a, lookups: 2)
        table.forget(b, lookups: 1)
        table.forget(.root, lookups: 1)
        #expect(table.heldLookups.isEmpty && table.unbalancedForgets == 0)
        table.forget(a, lookups: 1)
        #expect(table.unbalancedForgets == 1)
        table.checkInvariants()
    }
}

/// A count shared with concurrent closures.
final class Counter: Sendable {
    private let count = Mutex(0)

    func increment() {
        count.withLock { $0 += 1 }
    }

    var value: Int { count.withLock { $0 } }
}

/// The one errno table: what a program sees for each way the server or the link failed.
@Suite struct ErrnoTableTests {
    @Test func failuresAfterTheRetryBudgetAreEIOAsDocumented() {
        for code in [QumuloClientError.Code.timeout, .connection, .tls, .invalidResponse, .client] {
            let failure = FilesystemError(QumuloClientError(code: code, message: "gone"), "read")
            #expect(failure.errno == .ioError, "\(code)")
        }
        #expect(FilesystemError(QumuloClientError(code: .api, message: "", status: 503), "read").errno == .ioError)
        #expect(FilesystemError(QumuloClientError(code: .authentication, message: ""), "read").errno == .permissionDenied)
        #expect(FilesystemError(QumuloClientError(code: .api, message: "", status: 400), "truncate").errno == .invalidArgument)
    }
}
