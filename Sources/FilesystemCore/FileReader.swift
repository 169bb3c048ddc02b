import NIOCore
import QumuloAPI
import QumuloClient

/// Reads of open files: the server's bytes in blocks of ``FilesystemConfiguration/blockSize`` through the
/// ``BlockCache``, keyed by the file's data version so a changed file never serves old bytes, then the file's
/// pending writes laid over them.
///
/// Each read is planned first (``plan(_:offset:size:blockSize:readAhead:)``, pure: which blocks to prefetch for the
/// handle's ``ReadAheadWindow``, which one a sequential reader is done with, which ones this read needs), then
/// carried out (``read(_:_:_:)``): the plan is computed under the handle table's lock, the I/O outside it.
///
/// Locking: none of its own; the block cache's lock is a leaf.
final class FileReader: Sendable {
    /// What one read does, decided before any I/O.
    struct ReadPlan: Equatable {
        var offset: UInt64
        /// Where the read ends: at the file's end as this mount shows it, at most.
        var end: UInt64
        /// Blocks to have in cache next, for the read-ahead window.
        var prefetch: Range<Int>
        /// A block a sequential reader has passed: the kernel's page cache holds its bytes now.
        var release: Int?
        /// Blocks of the server's bytes this read needs.
        var demand: ClosedRange<Int>?
    }

    let blocks: BlockCache
    let blockSize: Int
    private let client: QumuloClient

    init(configuration: FilesystemConfiguration, client: QumuloClient) {
        blocks = BlockCache(budget: configuration.cacheSize)
        blockSize = configuration.blockSize
        self.client = client
    }

    /// Plans a read of `size` bytes at `offset` of a file as `view` shows it, moving the handle's read-ahead on.
    func plan(_ view: InodeState.ReadView, offset: UInt64, size: Int, readAhead: inout ReadAheadWindow) -> ReadPlan {
        Self.plan(view, offset: offset, size: size, blockSize: UInt64(blockSize), readAhead: &readAhead)
    }

    static func plan(
        _ view: InodeState.ReadView, offset: UInt64, size: Int, blockSize: UInt64, readAhead: inout ReadAheadWindow
    ) -> ReadPlan {
        let ahead = readAhead.observe(offset: offset, size: size, fileSize: view.serverSize)
        // A sequential reader is done with the block two behind the one it reads: far enough behind that the
        // kernel's reads, which arrive a little out of order, no longer need it.
        let behind = Int(offset / blockSize) - 2
        let release = readAhead.window > 0 && behind >= 0 && UInt64(behind) * blockSize >= readAhead.streamStart
            ? behind : nil
        let end = size > 0 ? min(view.size, offset + UInt64(size)) : offset
        let serverEnd = min(end, view.serverSize)
        return ReadPlan(
            offset: offset, end: max(offset, end),
            prefetch: ahead.isEmpty ? 0 ..< 0 : Int(ahead.lowerBound / blockSize) ..< Int((ahead.upperBound + blockSize - 1) / blockSize),
            release: release,
            demand: offset < serverEnd ? Int(offset / blockSize) ... Int((serverEnd - 1) / blockSize) : nil)
    }

    /// Carries out `plan` for `object`: the bytes from `plan.offset` to `plan.end`.
    func read(_ object: FileObject, _ view: InodeState.ReadView, _ plan: ReadPlan) async throws(FilesystemError) -> ByteBuffer {
        if let passed = plan.release { blocks.release(BlockKey(object: object, version: view.version, index: passed)) }
        guard plan.offset < plan.end else { return ByteBuffer() }
        for index in plan.prefetch {
            let key = BlockKey(object: object, version: view.version, index: index)
            blocks.prefetch(key, size: blockLength(index, fileSize: view.serverSize), fetch: blockFetch(key, fileSize: view.serverSize))
        }
        let blockSize = UInt64(self.blockSize)
        let serverEnd = min(plan.end, view.serverSize)
        var parts: [ByteBuffer] = []
        if let demand = plan.demand {
            do {
                for index in demand {
                    let key = BlockKey(object: object, version: view.version, index: index)
                    let block = try await blocks.block(key, size: blockLength(index, fileSize: view.serverSize),
                                                       fetch: blockFetch(key, fileSize: view.serverSize))
                    let blockStart = UInt64(index) * blockSize
                    let from = Int(max(plan.offset, blockStart) - blockStart)
                    let to = min(Int(serverEnd - blockStart), block.readableBytes)
                    if from < to, let slice = block.getSlice(at: block.readerIndex + from, length: to - from) {
                        parts.append(slice)
                    }
                }
            } catch {
                throw FilesystemError(error, "read \(object) at \(plan.offset)")
            }
        }
        let (offset, end) = (plan.offset, plan.end)
        let overlays = view.overlays.filter { $0.offset < end && offset < $0.end }
        if overlays.isEmpty, end <= view.serverSize, parts.count <= 1 { return parts.first ?? ByteBuffer() }
        // Pending writes, or bytes past the server's end: assemble a copy and lay the newer bytes over it.
        var joined = ByteBufferAllocator().buffer(capacity: Int(end - offset))
        for part in parts { joined.writeImmutableBuffer(part) }
        joined.writeRepeatingByte(0, count: Int(end - offset) - joined.readableBytes)
        for overlay in overlays {
            let from = max(offset, overlay.offset), to = min(end, overlay.end)
            let bytes = overlay.data.getSlice(at: overlay.data.readerIndex + Int(from - overlay.offset), length: Int(to - from))!
            joined.setBuffer(bytes, at: joined.readerIndex + Int(from - offset))
        }
        return joined
    }

    /// Starts reading a small file while its open checks its attributes: one round trip instead of two before
    /// `cat` has its bytes. The block is keyed by the version known before the check, so a file changed meanwhile
    /// costs one wasted request, never stale bytes. Skipped when the kernel's pages are of that version (its
    /// reads will not reach us).
    func prefetchSmallFile(_ object: FileObject, version: String, _ known: FileAttributes, kernelHas kernelVersion: String?) {
        guard known.type == .file, known.size > 0, known.size <= UInt64(blockSize), kernelVersion != version else { return }
        let key = BlockKey(object: object, version: version, index: 0)
        blocks.prefetch(key, size: blockLength(0, fileSize: known.size), fetch: blockFetch(key, fileSize: known.size))
    }

    private func blockLength(_ index: Int, fileSize: UInt64) -> Int {
        let start = UInt64(index) * UInt64(blockSize)
        return Int(min(UInt64(blockSize), fileSize - min(fileSize, start)))
    }

    /// How the block cache fetches block `key` of a file of `fileSize` bytes, into memory it hands over.
    private func blockFetch(_ key: BlockKey, fileSize: UInt64) -> BlockCache.Fetch {
        { [self] memory in
            try await client.read(.id(key.object.fileID), offset: UInt64(key.index) * UInt64(blockSize),
                                  length: blockLength(key.index, fileSize: fileSize), snapshot: key.object.snapshot,
                                  reusing: consume memory)
        }
    }
}
