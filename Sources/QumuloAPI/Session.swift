/// `POST /v1/session/login`.
public struct LoginRequest: Codable, Sendable {
    public var username: String
    public var password: String

    public init(username: String, password: String) {
        self.username = username
        self.password = password
    }
}

/// `POST /v1/session/change-password`: the logged-in user's own password.
public struct ChangePasswordRequest: Codable, Sendable {
    public var oldPassword: String
    public var newPassword: String

    public init(oldPassword: String, newPassword: String) {
        self.oldPassword = oldPassword
        self.newPassword = newPassword
    }

    enum CodingKeys: String, CodingKey {
        case oldPassword = "old_password"
        case newPassword = "new_password"
    }
}

/// The login answer. Session tokens start with `1:` and last 10 hours.
public struct LoginResponse: Codable, Sendable {
    public var bearerToken: String

    public init(bearerToken: String) {
        self.bearerToken = bearerToken
    }

    enum CodingKeys: String, CodingKey {
        case bearerToken = "bearer_token"
    }
}

/// `GET /v1/session/who-am-i`.
public struct WhoAmI: Codable, Sendable {
    public var id: String
    public var name: String
    public var primaryGroup: String
    public var sid: String
    public var uid: String
    public var homeDirectory: String?
    public var canChangePassword: Bool
    public var privileges: [String]

    public init(
        id: String, name: String, primaryGroup: String, sid: String, uid: String,
        homeDirectory: String?, canChangePassword: Bool, privileges: [String]
    ) {
        self.id = id
        self.name = name
        self.primaryGroup = primaryGroup
        self.sid = sid
        self.uid = uid
        self.homeDirectory = homeDirectory
        self.canChangePassword = canChangePassword
        self.privileges = privileges
    }

    enum CodingKeys: String, CodingKey {
        case id, name, sid, uid, privileges
        case primaryGroup = "primary_group"
        case homeDirectory = "home_directory"
        case canChangePassword = "can_change_password"
    }
}

/// `GET /v1/version`, which needs no authentication.
public struct VersionInfo: Codable, Sendable {
    public var revisionID: String
    public var buildID: String
    public var flavor: String
    public var buildDate: String

    public init(revisionID: String, buildID: String, flavor: String, buildDate: String) {
        self.revisionID = revisionID
        self.buildID = buildID
        self.flavor = flavor
        self.buildDate = buildDate
    }

    enum CodingKeys: String, CodingKey {
        case flavor
        case revisionID = "revision_id"
        case buildID = "build_id"
        case buildDate = "build_date"
    }
}

/// `GET /v1/file-system`: what statfs needs.
public struct FileSystemStats: Codable, Sendable {
    public var blockSizeBytes: UInt32
    @DecimalString public var totalSizeBytes: UInt64
    @DecimalString public var freeSizeBytes: UInt64
    @DecimalString public var snapshotSizeBytes: UInt64

    public init(blockSizeBytes: UInt32, totalSizeBytes: UInt64, freeSizeBytes: UInt64, snapshotSizeBytes: UInt64) {
        self.blockSizeBytes = blockSizeBytes
        self.totalSizeBytes = totalSizeBytes
        self.freeSizeBytes = freeSizeBytes
        self.snapshotSizeBytes = snapshotSizeBytes
    }

    enum CodingKeys: String, CodingKey {
        case blockSizeBytes = "block_size_bytes"
        case totalSizeBytes = "total_size_bytes"
        case freeSizeBytes = "free_size_bytes"
        case snapshotSizeBytes = "snapshot_size_bytes"
    }
}
