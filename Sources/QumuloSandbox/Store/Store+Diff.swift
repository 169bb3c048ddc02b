import Foundation
import GRDB
import QumuloAPI
#if canImport(Glibc)
import Glibc
#endif

extension Store {
    /// What changed in the snapshots' source tree from `older` to `newer`, sorted by path: entries created and
    /// deleted (a rename is both), and objects whose data or attributes changed. Versions that lived and died
    /// between the two snapshots are invisible to both and so are not reported.
    func treeDiff(newer: Int64, older: Int64) async throws -> [SnapshotTreeChange] {
        try await read { db in
            let (newView, oldView) = try Self.diffViews(db, newer: newer, older: older)
            let newEpoch = newView.epoch!, oldEpoch = oldView.epoch!
            var changes: [SnapshotTreeChange] = []
            var parentPaths: [View: [Int64: String?]] = [:]
            func entryPath(_ entry: DirentRecord, in view: View) throws -> String? {
                let parentPath: String?
                if let known = parentPaths[view]?[entry.parent] {
                    parentPath = known
                } else {
                    parentPath = try Lookup.covers(db, view, id: entry.parent)
                        ? try Lookup.inode(db, id: entry.parent, in: view).map { try Lookup.path(db, of: $0, in: view) } : nil
                    parentPaths[view, default: [:]][entry.parent] = parentPath
                }
                guard let parentPath, let child = try Lookup.inode(db, id: entry.child, in: view) else { return nil }
                return parentPath + entry.name + (child.type == .directory ? "/" : "")
            }
            let created = try DirentRecord.fetchAll(db, sql: """
                SELECT * FROM dirent WHERE born > ? AND born <= ? AND (died IS NULL OR died > ?)
                """, arguments: [oldEpoch, newEpoch, newEpoch])
            for entry in created {
                if let path = try entryPath(entry, in: newView) { changes.append(.init(op: .create, path: path)) }
            }
            let deleted = try DirentRecord.fetchAll(db, sql: """
                SELECT * FROM dirent WHERE born <= ? AND died > ? AND died <= ?
                """, arguments: [oldEpoch, oldEpoch, newEpoch])
            for entry in deleted {
                if let path = try entryPath(entry, in: oldView) { changes.append(.init(op: .delete, path: path)) }
            }
            let modified = try InodeRecord.fetchAll(db, sql: """
                SELECT * FROM inode AS new WHERE new.born > ?1 AND new.born <= ?2 AND (new.died IS NULL OR new.died > ?2)
                AND EXISTS (SELECT 1 FROM inode AS old WHERE old.id = new.id AND old.born <= ?1
                            AND (old.died IS NULL OR old.died > ?1))
                """, arguments: [oldEpoch, newEpoch])
            for inode in modified where try Lookup.covers(db, newView, id: inode.id) {
                changes.append(.init(op: .modify, path: try Lookup.path(db, of: inode, in: newView)))
            }
            return changes.sorted { ($0.path, $0.op.rawValue) < ($1.path, $1.op.rawValue) }
        }
    }

    /// The byte ranges of a file's default stream that differ between the snapshots: as the newer snapshot has
    /// them (v2 regions: data or hole), and as operations that turn the older contents into the newer (v3).
    func fileDiff(
        newer: Int64, older: Int64, ref: FileRef
    ) async throws -> (regions: [SnapshotFileRegion], operations: [SnapshotFileOperation]) {
        let (new, old) = try await read { db in
            let (newView, oldView) = try Self.diffViews(db, newer: newer, older: older)
            let inode = try Lookup.resolve(db, ref, in: newView)
            guard inode.type == .file else { throw SandboxError.notAFile(ref.description) }
            let previous = try Lookup.inode(db, id: inode.id, in: oldView)
            return (try self.openVersion(inode), try previous.map(self.openVersion))
        }
        defer {
            new.close()
            old?.close()
        }
        let oldSize = old?.size ?? 0
        var changed: [Range<Int64>] = []
        if new.blob != old?.blob || new.size != oldSize {
            changed = try Self.differingRanges(new, old)
        }
        var regions: [SnapshotFileRegion] = []
        var operations: [SnapshotFileOperation] = []
        for range in changed {
            for (isData, part) in try Self.dataAndHoles(new, in: range) {
                let region = SnapshotFileRegion(type: isData ? .data : .hole, offset: UInt64(part.lowerBound), size: UInt64(part.count))
                if let last = regions.last, last.type == region.type, last.offset + last.size == region.offset {
                    regions[regions.count - 1].size += region.size
                } else {
                    regions.append(region)
                }
            }
            // GUESSED: Qumulo's v3 operation semantics are not published. Changes inside the old size are
            // MODIFY; growth is CREATE; shrinking is DELETE.
            let inside = range.clamped(to: 0 ..< min(oldSize, new.size))
            if !inside.isEmpty { operations.append(.init(op: .modify, offset: UInt64(inside.lowerBound), size: UInt64(inside.count))) }
        }
        if new.size > oldSize {
            operations.append(.init(op: .create, offset: UInt64(oldSize), size: UInt64(new.size - oldSize)))
        } else if new.size < oldSize {
            operations.append(.init(op: .delete, offset: UInt64(new.size), size: UInt64(oldSize - new.size)))
        }
        return (regions, operations)
    }

    /// Checks a diff's snapshots and returns their views: both kept, older first in time, one source.
    private static func diffViews(_ db: Database, newer: Int64, older: Int64) throws -> (View, View) {
        let newView = try view(db, snapshot: UInt64(exactly: newer) ?? 0)
        let oldView = try view(db, snapshot: UInt64(exactly: older) ?? 0)
        guard oldView.epoch! < newView.epoch! else {
            throw SandboxError.invalidRequest("snapshot \(older) is not older than snapshot \(newer)")
        }
        guard oldView.scope == newView.scope else {
            throw SandboxError.invalidRequest("snapshots \(newer) and \(older) are of different directories")
        }
        return (newView, oldView)
    }

    /// One version of a file's data, open for comparing.
    private struct OpenVersion {
        var blob: Int64?
        var size: Int64
        var descriptor: Int32?

        func close() {
            if let descriptor { Glibc.close(descriptor) }
        }

        /// `count` bytes at `offset`; past the blob they read as zeros.
        func read(_ offset: Int64, _ count: Int) -> [UInt8] {
            var bytes = [UInt8](repeating: 0, count: count)
            if let descriptor {
                _ = bytes.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress, count, off_t(offset)) }
            }
            return bytes
        }
    }

    private func openVersion(_ inode: InodeRecord) throws -> OpenVersion {
        OpenVersion(blob: inode.blob, size: inode.size, descriptor: try inode.blob.map(blobs.openForReading))
    }

    private static let diffBlock: Int64 = 64 * 1024

    /// Ranges where the two versions' bytes differ, in `diffBlock` granularity, merged; beyond the shorter
    /// version everything up to the longer one's end counts as changed.
    private static func differingRanges(_ new: OpenVersion, _ old: OpenVersion?) throws -> [Range<Int64>] {
        let oldSize = old?.size ?? 0
        let common = min(new.size, oldSize)
        var ranges: [Range<Int64>] = []
        func add(_ range: Range<Int64>) {
            if let last = ranges.last, last.upperBound == range.lowerBound {
                ranges[ranges.count - 1] = last.lowerBound ..< range.upperBound
            } else {
                ranges.append(range)
            }
        }
        if let old, new.blob != old.blob {
            var offset: Int64 = 0
            while offset < common {
                let count = Int(min(diffBlock, common - offset))
                if new.read(offset, count) != old.read(offset, count) { add(offset ..< offset + Int64(count)) }
                offset += Int64(count)
            }
        }
        if new.size > common { add(common ..< new.size) }
        return ranges
    }

    /// Splits a range of the newer version into data and holes (all-zero blocks count as holes).
    private static func dataAndHoles(_ version: OpenVersion, in range: Range<Int64>) throws -> [(Bool, Range<Int64>)] {
        var parts: [(Bool, Range<Int64>)] = []
        var offset = range.lowerBound
        while offset < range.upperBound {
            let end = min(range.upperBound, (offset / diffBlock + 1) * diffBlock)
            let isData = version.read(offset, Int(end - offset)).contains { $0 != 0 }
            if let last = parts.last, last.0 == isData {
                parts[parts.count - 1].1 = last.1.lowerBound ..< end
            } else {
                parts.append((isData, offset ..< end))
            }
            offset = end
        }
        return parts
    }
}
