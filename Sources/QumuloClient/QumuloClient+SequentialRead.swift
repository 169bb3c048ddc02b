import NIOCore
import QumuloAPI

extension QumuloClient {
    /// Reads `[0, size)` of a file as `blockSize` ranges with up to `inFlight` requests at once and hands the
    /// blocks to `consume` in file order: one reader filling a link whose latency one request at a time cannot.
    ///
    /// A new range starts only when the oldest is consumed, so memory stays within `inFlight * blockSize` however
    /// slow the consumer. Each range is read (and retried, and resumed) like ``read(_:offset:length:snapshot:stream:)``.
    /// A short block means the file shrank meanwhile: the read stops there.
    ///
    /// - Returns: the bytes consumed.
    @discardableResult
    public func readSequentially(
        _ ref: FileRef, size: UInt64, blockSize: Int, inFlight: Int, snapshot: UInt64? = nil,
        consume: (ByteBuffer) async throws -> Void
    ) async throws -> UInt64 {
        precondition(blockSize > 0 && inFlight > 0, "blockSize and inFlight must be positive")
        let block = UInt64(blockSize)
        let blocks = (size + block - 1) / block
        return try await withThrowingTaskGroup(of: (UInt64, ByteBuffer).self) { group in
            var launched: UInt64 = 0
            var delivered: UInt64 = 0
            var consumed: UInt64 = 0
            var arrived: [UInt64: ByteBuffer] = [:]
            func launch() {
                let index = launched
                let offset = index * block
                let length = Int(min(block, size - offset))
                group.addTask { (index, try await self.read(ref, offset: offset, length: length, snapshot: snapshot)) }
                launched += 1
            }
            while launched < min(blocks, UInt64(inFlight)) { launch() }
            while delivered < blocks, let (index, buffer) = try await group.next() {
                arrived[index] = buffer
                while let next = arrived.removeValue(forKey: delivered) {
                    try await consume(next)
                    consumed += UInt64(next.readableBytes)
                    delivered += 1
                    if next.readableBytes < Int(min(block, size - (delivered - 1) * block)) {
                        group.cancelAll()
                        return consumed
                    }
                    if launched < blocks { launch() }
                }
            }
            return consumed
        }
    }
}
