#if canImport(Glibc)
import Glibc
#endif

/// The bytes a change in place is about to overwrite: a file in `journal/` with a header of five little-endian
/// 64-bit fields (blob, offset, length, hole, the holder's data revision before the change), then the bytes.
///
/// The revision tells after a crash whether the change committed: the row that owns the blob then has a higher
/// one, since every data change bumps it in the same transaction.
struct UndoRecord: Sendable {
    static let headerBytes: Int64 = 40

    var path: String
    var blob: Int64
    var offset: Int64
    var length: Int64
    /// The range held no data: undoing punches it out rather than copying bytes back.
    var hole: Bool
    var revision: Int64

    var header: [Int64] {
        [blob, offset, length, hole ? 1 : 0, revision].map { $0.littleEndian }
    }
}

extension UndoRecord {
    /// The record a crash left at `path`; nil when its header is not whole.
    init?(reading path: String) {
        let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var fields = [Int64](repeating: 0, count: 5)
        let read = fields.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
        guard read == Self.headerBytes else { return nil }
        fields = fields.map { Int64(littleEndian: $0) }
        self.init(path: path, blob: fields[0], offset: fields[1], length: fields[2], hole: fields[3] != 0,
                  revision: fields[4])
    }
}
