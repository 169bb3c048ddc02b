/// How far ahead of one reader to fetch: a state machine per open file that returns the range to prefetch after
/// each read, holding no locks and doing no I/O itself.
///
/// Like mountpoint-s3's prefetcher: the window starts at one block and doubles with every read that continues
/// the stream, up to `maximum`. A read that ends up to `backwardTolerance` behind, or starts up to
/// `forwardTolerance` ahead of, where the stream stands still counts as sequential (the kernel issues reads in
/// parallel and they arrive out of order); anything else is a seek, which closes the window until the reader
/// goes sequential again.
struct ReadAheadWindow: Sendable {
    static let backwardTolerance: UInt64 = 1 << 20
    static let forwardTolerance: UInt64 = 16 << 20

    let initial: Int
    let maximum: Int
    /// Bytes to prefetch past the newest read; 0 after a seek.
    private(set) var window = 0
    /// The end of the furthest read of the current stream.
    private(set) var streamEnd: UInt64 = 0
    /// Where the current stream began: what lies between it and the reader has been read.
    private(set) var streamStart: UInt64 = 0

    init(initial: Int, maximum: Int) {
        self.initial = min(initial, maximum)
        self.maximum = maximum
    }

    /// Records a read of `size` bytes at `offset` and returns the range to have in cache next, clipped to the file.
    mutating func observe(offset: UInt64, size: Int, fileSize: UInt64) -> Range<UInt64> {
        let end = offset + UInt64(size)
        let continues = end + Self.backwardTolerance >= streamEnd && offset <= streamEnd + Self.forwardTolerance
        if continues {
            window = window == 0 ? initial : min(window * 2, maximum)
            streamEnd = max(streamEnd, end)
        } else {
            window = 0
            streamStart = offset
            streamEnd = end
        }
        let start = min(streamEnd, fileSize)
        return start ..< min(fileSize, start + UInt64(window))
    }
}
