import CLinuxIO
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The files that hold contents: one per blob id under `blobs/`, plus a `spool/` for request bodies in flight and a
/// `journal/` of the bytes changes in place are about to overwrite (see ``BlobJournal``).
///
/// A blob's length equals the size of the version that uses it once its transaction has ended; bytes past that
/// size (a write in flight, a cut not yet made, a crash's leftovers) are never read, since reads are bounded by the
/// size, and are cut before the blob changes again. Blobs are never written while a snapshot can see them: the
/// store clones first (copy-on-write).
struct BlobStore: Sendable {
    let directory: String
    let spoolDirectory: String
    let journalDirectory: String

    /// File-system block size the API reports; `datablocks` counts these.
    static let blockSize: Int64 = 4096

    init(root: URL) throws {
        directory = root.appendingPathComponent("blobs").path
        spoolDirectory = root.appendingPathComponent("spool").path
        journalDirectory = root.appendingPathComponent("journal").path
        for path in [directory, spoolDirectory, journalDirectory] {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        }
        // Spool files left by a crash belong to requests that never committed.
        for name in (try? FileManager.default.contentsOfDirectory(atPath: spoolDirectory)) ?? [] {
            unlink(spoolDirectory + "/" + name)
        }
    }

    func path(of blob: Int64) -> String {
        "\(directory)/\(blob)"
    }

    /// Creates an empty blob of `size` bytes (sparse).
    func create(_ blob: Int64, size: Int64 = 0) throws {
        let fd = try open(blob, flags: O_RDWR | O_CREAT | O_TRUNC)
        defer { close(fd) }
        if size > 0 {
            try check(ftruncate(fd, off_t(size)), "truncate blob \(blob)")
        }
    }

    /// Copies blob `source` to a new blob `target`: a reflink where the file system can, else a kernel copy.
    func clone(_ source: Int64, to target: Int64) throws {
        let input = try open(source, flags: O_RDONLY)
        defer { close(input) }
        let output = try open(target, flags: O_RDWR | O_CREAT | O_TRUNC)
        defer { close(output) }
        // FICLONE shares extents (btrfs, xfs); elsewhere it fails and the bytes are copied.
        let ficlone: UInt = 0x4004_9409
        if ioctl(output, ficlone, input) == 0 { return }
        var status = stat()
        try check(fstat(input, &status), "stat blob \(source)")
        try copyRange(from: input, at: 0, to: output, at: 0, count: Int64(status.st_size))
    }

    /// Writes `count` bytes of the file `input` from `inputOffset` into `blob` at `offset`, extending it if needed.
    func write(from input: Int32, at inputOffset: Int64, count: Int64, into blob: Int64, at offset: Int64) throws {
        let output = try open(blob, flags: O_RDWR)
        defer { close(output) }
        try copyRange(from: input, at: inputOffset, to: output, at: offset, count: count)
    }

    func truncate(_ blob: Int64, to size: Int64) throws {
        try check(Glibc.truncate(path(of: blob), off_t(size)), "truncate blob \(blob)")
    }

    /// The blob's length on disk; nil when it does not exist.
    func length(of blob: Int64) -> Int64? {
        var status = stat()
        return stat(path(of: blob), &status) == 0 ? Int64(status.st_size) : nil
    }

    /// Cuts whatever lies past `size`: bytes of a change that never committed, which must not reappear as the
    /// file's contents when it grows.
    func cutTail(of blob: Int64, to size: Int64) throws {
        if let length = length(of: blob), length > size {
            try truncate(blob, to: size)
        }
    }

    /// The ids of every blob file, for the check after a crash.
    func allBlobs() -> [Int64] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).compactMap { Int64($0) }
    }

    /// Saves the bytes of `range` in `blob` to a new undo record before a change in place overwrites them.
    /// A range with no data in it is recorded as a hole, without copying: out-of-order appends land in holes.
    func preserve(_ blob: Int64, range: Range<Int64>, revision: Int64) throws -> UndoRecord {
        let hole = try allocatedBytes(of: blob, in: range) == 0
        let length = range.upperBound - range.lowerBound
        let record = UndoRecord(
            path: "\(journalDirectory)/\(blob)-\(UInt64.random(in: 0 ... .max))", blob: blob, offset: range.lowerBound,
            length: length, hole: hole, revision: revision)
        let output = Glibc.open(record.path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        try check(output < 0 ? -1 : 0, "create undo record for blob \(blob)")
        defer { close(output) }
        let header = record.header
        let written = header.withUnsafeBytes { pwrite(output, $0.baseAddress, $0.count, 0) }
        try check(written == header.count * 8 ? 0 : -1, "write undo record for blob \(blob)")
        if !hole {
            let input = try open(blob, flags: O_RDONLY)
            defer { close(input) }
            try copyRange(from: input, at: range.lowerBound, to: output, at: UndoRecord.headerBytes, count: length)
        }
        return record
    }

    /// Puts back the bytes an undo record saved. A record cut short by a crash saved fewer bytes than its range,
    /// but the change it guards had not started: its blob holds the old bytes beyond what the record has.
    func restore(_ record: UndoRecord) throws {
        if record.hole {
            return try punchHole(record.blob, offset: record.offset, length: record.length)
        }
        let input = Glibc.open(record.path, O_RDONLY | O_CLOEXEC)
        try check(input < 0 ? -1 : 0, "open undo record \(record.path)")
        defer { close(input) }
        let output = try open(record.blob, flags: O_RDWR)
        defer { close(output) }
        var status = stat()
        try check(fstat(input, &status), "stat undo record")
        let saved = min(record.length, max(0, Int64(status.st_size) - UndoRecord.headerBytes))
        try copyRange(from: input, at: UndoRecord.headerBytes, to: output, at: record.offset, count: saved)
    }

    /// The undo records a crash left, all of one transaction (writers take turns); unreadable ones (cut before
    /// their header was whole, so their change never started) are removed.
    func leftUndoRecords() -> [UndoRecord] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: journalDirectory)) ?? []
        return names.compactMap { name in
            let path = journalDirectory + "/" + name
            guard let record = UndoRecord(reading: path) else {
                unlink(path)
                return nil
            }
            return record
        }
    }

    /// Deallocates a range, which then reads as zeros; the length does not change.
    func punchHole(_ blob: Int64, offset: Int64, length: Int64) throws {
        guard length > 0 else { return }
        let fd = try open(blob, flags: O_RDWR)
        defer { close(fd) }
        if clinuxio_punch_hole(fd, off_t(offset), off_t(length)) == 0 { return }
        // File systems without hole punching get zeros written instead; the contents are the same.
        let zeros = [UInt8](repeating: 0, count: 1 << 20)
        var done: Int64 = 0
        while done < length {
            let n = Int(min(Int64(zeros.count), length - done))
            let written = zeros.withUnsafeBytes { pwrite(fd, $0.baseAddress, n, off_t(offset + done)) }
            try check(written < 0 ? -1 : 0, "zero blob \(blob)")
            done += Int64(written)
        }
    }

    /// Blocks of `blockSize` bytes the blob occupies on disk: holes are free, as on a cluster.
    func datablocks(of blob: Int64?) -> Int64 {
        guard let blob else { return 0 }
        var status = stat()
        guard stat(path(of: blob), &status) == 0 else { return 0 }
        return (Int64(status.st_blocks) * 512 + Self.blockSize - 1) / Self.blockSize
    }

    /// Bytes of the `blockSize` blocks overlapping `range` that hold data; holes are free.
    ///
    /// Read with SEEK_DATA/SEEK_HOLE rather than from `st_blocks`, which also counts the file system's own extent
    /// blocks: those cannot be predicted for a range, and a capacity check must predict. A missing blob holds nothing.
    func allocatedBytes(of blob: Int64, in range: Range<Int64> = 0 ..< .max) throws -> Int64 {
        let fd = Glibc.open(path(of: blob), O_RDONLY | O_CLOEXEC)
        if fd < 0, errno == ENOENT { return 0 }
        try check(fd < 0 ? -1 : 0, "open blob \(blob)")
        defer { close(fd) }
        return try Self.allocatedBytes(of: fd, in: range)
    }

    /// ``allocatedBytes(of:in:)`` of an open file, such as a spool.
    static func allocatedBytes(of fd: Int32, in range: Range<Int64> = 0 ..< .max) throws -> Int64 {
        guard !range.isEmpty else { return 0 }
        var total: Int64 = 0
        var position = range.lowerBound - range.lowerBound % blockSize
        while position < range.upperBound {
            let data = Int64(clinuxio_seek_data(fd, off_t(position)))
            if data < 0, errno == ENXIO { break }
            try check(data < 0 ? -1 : 0, "seek data")
            guard data < range.upperBound else { break }
            let hole = Int64(clinuxio_seek_hole(fd, off_t(data)))
            try check(hole < 0 ? -1 : 0, "seek hole")
            // A hole ends at the file's size at the latest, so rounding it up cannot overflow.
            let end = blockAligned(min(hole, range.upperBound))
            total += end - max(position, data - data % blockSize)
            position = end
        }
        return total
    }

    /// `bytes` rounded up to whole blocks; saturating, since a sparse file's size may be near the largest offset.
    static func blockAligned(_ bytes: Int64) -> Int64 {
        let (sum, overflow) = bytes.addingReportingOverflow(blockSize - 1)
        return overflow ? .max : sum / blockSize * blockSize
    }

    /// Bytes of the blocks that overlap `range`: the most a write of that range can allocate.
    static func blockSpan(_ range: Range<Int64>) -> Int64 {
        range.isEmpty ? 0 : blockAligned(range.upperBound) - (range.lowerBound - range.lowerBound % blockSize)
    }

    func remove(_ blob: Int64) {
        unlink(path(of: blob))
    }

    /// Opens the blob for reading; the descriptor stays valid even if the blob is unlinked meanwhile.
    func openForReading(_ blob: Int64) throws -> Int32 {
        try open(blob, flags: O_RDONLY)
    }

    /// Moves a finished spool file into place as `blob`.
    func adopt(spool path: String, as blob: Int64) throws {
        try check(rename(path, self.path(of: blob)), "adopt spool file as blob \(blob)")
    }

    private func open(_ blob: Int64, flags: Int32) throws -> Int32 {
        let fd = Glibc.open(path(of: blob), flags | O_CLOEXEC, 0o600)
        try check(fd < 0 ? -1 : 0, "open blob \(blob)")
        return fd
    }

    private func copyRange(from input: Int32, at inputOffset: Int64, to output: Int32, at outputOffset: Int64, count: Int64) throws {
        var sourceOffset = off_t(inputOffset)
        var targetOffset = off_t(outputOffset)
        var remaining = count
        while remaining > 0 {
            let copied = clinuxio_copy_file_range(input, &sourceOffset, output, &targetOffset, Int(min(remaining, 1 << 30)))
            if copied < 0 {
                if errno == EINTR { continue }
                try check(-1, "copy into blob")
            }
            if copied == 0 { break }
            remaining -= Int64(copied)
        }
        // A source shorter than `count` leaves a hole: the range reads as zeros.
        let end = outputOffset + count
        var status = stat()
        try check(fstat(output, &status), "stat blob")
        if Int64(status.st_size) < end {
            try check(ftruncate(output, off_t(end)), "extend blob")
        }
    }
}

/// An I/O failure inside the store; the request fails with a 500 and the transaction rolls back.
struct StorageError: Error, CustomStringConvertible {
    var operation: String
    var code: Int32

    var description: String { "\(operation): \(String(cString: strerror(code)))" }
}

func check(_ result: Int32, _ operation: @autoclosure () -> String) throws {
    if result != 0 {
        throw StorageError(operation: operation(), code: errno)
    }
}
