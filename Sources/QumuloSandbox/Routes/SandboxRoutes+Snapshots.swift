import Foundation
import Hummingbird
import QumuloAPI

extension SandboxRoutes {
    func registerSnapshots(on router: Router<SandboxRequestContext>) {
        registerSnapshotsV3(on: router)
        registerSnapshotsLegacy(on: router)
        registerSnapshotDiffs(on: router)
        registerSecurityKeys(on: router)
    }

    private func registerSnapshotsV3(on router: Router<SandboxRequestContext>) {
        router.get("/v3/snapshots/") { request, _ in
            let filter = try v3Filter(request)
            return try JSONResponse.make(SnapshotList(entries: try await store.snapshots(filter).map(\.info)))
        }
        router.post("/v3/snapshots/") { request, _ in
            let body = try await JSONResponse.decode(CreateSnapshotRequest.self, from: request)
            let source = FileRef.id(body.sourceFileID ?? QumuloAPI.rootFileID)
            let created = try await store.createSnapshot(of: source, suffix: body.nameSuffix, expiration: body.expiration)
            return try JSONResponse.make(created.info)
        }
        router.get("/v3/snapshots/:id") { _, context in
            try JSONResponse.make(try await store.snapshot(try snapshotID(context)).info)
        }
        for method in [HTTPRequest.Method.patch, .put] {
            router.on("/v3/snapshots/:id", method: method) { request, context in
                let body = try await JSONResponse.decode(ModifySnapshotRequest.self, from: request)
                let id = try snapshotID(context)
                guard body.hasExpiration else { return try JSONResponse.make(try await store.snapshot(id).info) }
                return try JSONResponse.make(try await store.setExpiration(of: id, to: body.expiration).info)
            }
        }
        router.delete("/v3/snapshots/:id") { _, context in
            try await store.deleteSnapshot(try snapshotID(context))
            return Response(status: .accepted)
        }
        router.get("/v3/snapshots/status/") { request, _ in
            try JSONResponse.make(SnapshotList(entries: try await statuses(try v3Filter(request))))
        }
        router.get("/v3/snapshots/status/:id") { _, context in
            try JSONResponse.make(try await status(try await store.snapshot(try snapshotID(context))))
        }
        router.get("/v4/snapshots/status/") { request, _ in
            var filter = SnapshotFilter()
            for name in (request.uri.queryParameters.get("filter") ?? "").split(separator: ",") {
                switch name {
                case "api_snapshots_exclude_in_delete": filter.excludeInDelete = true
                case "api_snapshots_exclude_not_in_delete": filter.excludeNotInDelete = true
                case "api_snapshots_exclude_locked": filter.excludeLocked = true
                case "api_snapshots_exclude_not_locked": filter.excludeNotLocked = true
                default: throw SandboxError.invalidRequest("unknown snapshot filter \(name)")
                }
            }
            return try JSONResponse.make(SnapshotList(entries: try await statuses(filter)))
        }
        router.post("/v3/snapshots/:id/lock") { request, context in
            let body = try await JSONResponse.decode(SnapshotLockRequest.self, from: request)
            try await store.lockSnapshot(try snapshotID(context), keyRef: body.lockKeyRef)
            return try JSONResponse.make(body)
        }
        router.get("/v3/snapshots/:id/unlock-challenge") { _, context in
            try JSONResponse.make(UnlockChallenge(challenge: try await store.unlockChallenge(try snapshotID(context))))
        }
        router.post("/v3/snapshots/:id/unlock") { request, context in
            let body = try await JSONResponse.decode(UnlockRequest.self, from: request)
            try await store.unlockSnapshot(try snapshotID(context), signature: body.signature)
            return JSONResponse.empty()
        }
        router.get("/v1/snapshots/total-used-capacity") { _, _ in
            try JSONResponse.make(["bytes": String(try await store.snapshotBytes())])
        }
    }

    /// The v1 and v2 forms: the user's name apart from the `.snapshot` directory name, `""` for never.
    private func registerSnapshotsLegacy(on router: Router<SandboxRequestContext>) {
        for version in [1, 2] {
            @Sendable func legacy(_ record: SnapshotRecord) async throws -> SnapshotLegacy {
                SnapshotLegacy(
                    id: UInt64(record.id), name: record.userName, timestamp: Timestamp(totalNanoseconds: record.timestamp),
                    directoryName: record.name, sourceFileID: version == 2 ? String(record.sourceFileID) : nil,
                    sourcePath: version == 1 ? try await store.sourcePath(of: record) : nil,
                    expiration: record.expiration.map(Timestamp.init(totalNanoseconds:)),
                    inDelete: version == 2 ? record.inDelete : nil)
            }
            router.get("/v\(version)/snapshots/") { request, _ in
                let includeInDelete = request.uri.queryParameters.get("include-in-delete")?.lowercased() == "true"
                var entries: [SnapshotLegacy] = []
                for record in try await store.snapshots(SnapshotFilter(excludeInDelete: !includeInDelete)) {
                    entries.append(try await legacy(record))
                }
                return try JSONResponse.make(SnapshotList(entries: entries))
            }
            router.post("/v\(version)/snapshots/") { request, _ in
                let body = try await JSONResponse.decode(CreateSnapshotLegacyRequest.self, from: request)
                var expiration = body.expiration
                if let ttl = request.uri.queryParameters.get("expiration-time-to-live"), !ttl.isEmpty {
                    guard let seconds = Self.timeToLive(String(ttl)),
                          case let (end, overflowed) = Timestamp.now().seconds.addingReportingOverflow(seconds), !overflowed
                    else {
                        throw SandboxError.invalidRequest(
                            "expiration-time-to-live=\(ttl) is not a time to live like 5days or 12hours, or too long")
                    }
                    expiration = Timestamp(seconds: end)
                }
                let source = FileRef.id(version == 2 ? body.sourceFileID ?? QumuloAPI.rootFileID : QumuloAPI.rootFileID)
                let created = try await store.createSnapshot(of: source, suffix: body.name, expiration: expiration)
                return try JSONResponse.make(try await legacy(created))
            }
            router.get("/v\(version)/snapshots/:id") { _, context in
                try JSONResponse.make(try await legacy(try await store.snapshot(try snapshotID(context))))
            }
            router.delete("/v\(version)/snapshots/:id") { _, context in
                try await store.deleteSnapshot(try snapshotID(context))
                return JSONResponse.empty()
            }
        }
    }

    private func registerSnapshotDiffs(on router: Router<SandboxRequestContext>) {
        router.get("/v2/snapshots/:id/changes-since/:older") { request, context in
            let changes = try await store.treeDiff(newer: try snapshotID(context), older: try snapshotID(context, "older"))
            return try diffPage(changes, request)
        }
        router.get("/v2/snapshots/:id/changes-since/:older/files/:ref") { request, context in
            let diff = try await store.fileDiff(
                newer: try snapshotID(context), older: try snapshotID(context, "older"), ref: try ref(context))
            return try diffPage(diff.regions, request)
        }
        router.get("/v3/snapshots/:id/changes-since/:older/files/:ref") { request, context in
            let diff = try await store.fileDiff(
                newer: try snapshotID(context), older: try snapshotID(context, "older"), ref: try ref(context))
            return try diffPage(diff.operations, request)
        }
    }

    private func registerSecurityKeys(on router: Router<SandboxRequestContext>) {
        let keys = "/v1/file-system/security/keys"
        router.get("\(keys)/") { _, _ in
            try JSONResponse.make(["entries": try await store.keys()])
        }
        router.post("\(keys)/") { request, _ in
            try JSONResponse.make(try await store.addKey(try await JSONResponse.decode(AddSecurityKeyRequest.self, from: request)))
        }
        router.get("\(keys)/:key") { _, context in
            try JSONResponse.make(try await store.key(try segment(context, "key")))
        }
        for method in [HTTPRequest.Method.patch, .put] {
            router.on("\(keys)/:key", method: method) { request, context in
                let change = try await JSONResponse.decode(ModifySecurityKeyRequest.self, from: request)
                return try JSONResponse.make(try await store.modifyKey(try segment(context, "key"), change))
            }
        }
        router.delete("\(keys)/:key") { _, context in
            try await store.deleteKey(try segment(context, "key"))
            return JSONResponse.empty()
        }
        router.get("\(keys)/:key/usages") { request, context in
            let usages = try await store.keyUsages(try segment(context, "key"))
            let (page, next) = try self.page(usages, request)
            return try JSONResponse.make(SecurityKeyUsages(usages: page, paging: Paging(next: next, end: .null)))
        }
    }

    private func snapshotID(_ context: SandboxRequestContext, _ name: String = "id") throws -> Int64 {
        guard let text = context.parameters.get(name), let id = Int64(text), id > 0 else {
            throw SandboxError.noSuchSnapshot(context.parameters.get(name) ?? "")
        }
        return id
    }

    private func v3Filter(_ request: Request) throws -> SnapshotFilter {
        switch request.uri.queryParameters.get("filter") ?? "all" {
        case "all": SnapshotFilter()
        case "exclude_in_delete": SnapshotFilter(excludeInDelete: true)
        case "only_in_delete": SnapshotFilter(excludeNotInDelete: true)
        case let other: throw SandboxError.invalidRequest("unknown snapshot filter \(other)")
        }
    }

    private func statuses(_ filter: SnapshotFilter) async throws -> [SnapshotStatus] {
        var entries: [SnapshotStatus] = []
        for record in try await store.snapshots(filter) { entries.append(try await status(record)) }
        return entries
    }

    private func status(_ record: SnapshotRecord) async throws -> SnapshotStatus {
        SnapshotStatus(info: record.info, sourceFilePath: try await store.sourcePath(of: record),
                       lockKey: record.lockKey.map(String.init))
    }

    /// A page of a diff; the last page's `next` is null, which every SDK diff iterator accepts.
    private func diffPage<Entry: Codable & Sendable>(_ entries: [Entry], _ request: Request) throws -> Response {
        let (page, next) = try self.page(entries, request)
        return try JSONResponse.make(DiffPage(entries: page, paging: Paging(next: next, end: .null)))
    }

    /// Slices a computed list by `limit` and an index cursor.
    private func page<Entry>(_ entries: [Entry], _ request: Request) throws -> ([Entry], String?) {
        let start = try cursor(request).map { text -> Int in
            guard let index = Int(text), index >= 0 else { throw SandboxError.invalidRequest("after is not a cursor this server issued") }
            return index
        } ?? 0
        let end = min(entries.count, start + (try pageLimit(request)))
        let slice = start < end ? Array(entries[start ..< end]) : []
        return (slice, end < entries.count ? nextPage(of: request, after: String(end)) : nil)
    }

    /// Parses `<n><unit>` time-to-live values such as `5days` or `12hours` into seconds.
    static func timeToLive(_ text: String) -> Int64? {
        let digits = text.prefix { $0.isNumber }
        guard let count = Int64(digits), count >= 0 else { return nil }
        let unit = text.dropFirst(digits.count).lowercased()
        let seconds: Int64? = switch unit.hasSuffix("s") ? String(unit.dropLast()) : unit {
        case "second": 1
        case "minute": 60
        case "hour": 3600
        case "day": 86400
        case "week": 7 * 86400
        case "month": 30 * 86400
        case "year": 365 * 86400
        default: nil
        }
        guard let seconds, case let (total, overflowed) = seconds.multipliedReportingOverflow(by: count), !overflowed
        else { return nil }
        return total
    }
}
