import Logging
import ServiceLifecycle

/// Deletes expired snapshots and reclaims the space of deleted ones in the background, as a cluster does:
/// a DELETE answers 202 at once and the snapshot shows `in_delete` until this pass has run.
struct SnapshotReaper: Service {
    let store: Store
    let interval: Duration
    let logger: Logger

    func run() async throws {
        while !Task.isShuttingDownGracefully {
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
            do {
                let reclaimed = try await store.reapSnapshots()
                if reclaimed > 0 { logger.info("snapshots reclaimed", metadata: ["snapshot.count": "\(reclaimed)"]) }
            } catch {
                logger.error("snapshot reclaim failed", metadata: ["error": "\(error)"])
            }
        }
    }
}
