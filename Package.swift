// swift-tools-version:6.2
import PackageDescription

// Settings every target shares, applied once below.
let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "qfuse",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "qfuse", targets: ["qfuse"]),
        .executable(name: "qfuse-sandbox", targets: ["qfuse-sandbox"]),
        .library(name: "QumuloAPI", targets: ["QumuloAPI"]),
        .library(name: "QumuloClient", targets: ["QumuloClient"]),
        .library(name: "QumuloSandbox", targets: ["QumuloSandbox"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-certificates.git", from: "1.21.1"),
        .package(url: "https://github.com/apple/swift-asn1.git", from: "1.7.4"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-system.git", from: "1.8.1"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
    ],
    targets: [
        .target(
            name: "QumuloAPI",
            swiftSettings: swiftSettings
        ),
        .target(
            name: "QumuloClient",
            dependencies: [
                "QumuloAPI",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "qfuse",
            dependencies: [
                "CLinuxIO",
                "CommandLineSupport",
                "QumuloClient",
                "QumuloAPI",
                "FilesystemCore",
                "FUSEBridge",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "FilesystemCore",
            dependencies: [
                "QumuloAPI",
                "QumuloClient",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "SystemPackage", package: "swift-system"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // libfuse 3 through pkg-config; shim.h pins FUSE_USE_VERSION.
        .systemLibrary(
            name: "CFuse3",
            pkgConfig: "fuse3",
            providers: [.apt(["libfuse3-dev"])]
        ),
        // What Swift cannot import: FUSE_ARGS_INIT, the fuse_session_new wrapper, exit signals, a setsid spawn.
        .target(name: "CFuse3Shim", dependencies: ["CFuse3"]),
        .target(
            name: "FUSEBridge",
            dependencies: [
                "CFuse3",
                "CFuse3Shim",
                "FilesystemCore",
                "QumuloAPI",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "SystemPackage", package: "swift-system"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(name: "CLinuxIO"),
        .target(
            name: "QumuloSandbox",
            dependencies: [
                "QumuloAPI",
                "CLinuxIO",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "CommandLineSupport",
            dependencies: [.product(name: "ArgumentParser", package: "swift-argument-parser")],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "qfuse-sandbox",
            dependencies: [
                "CommandLineSupport",
                "QumuloSandbox",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "QumuloAPITests",
            dependencies: ["QumuloAPI"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "SandboxTestSupport",
            dependencies: [
                "QumuloAPI",
                "QumuloSandbox",
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Tests/SandboxTestSupport",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "QumuloClientTests",
            dependencies: [
                "QumuloAPI",
                "QumuloClient",
                "SandboxTestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "FilesystemCoreTests",
            dependencies: [
                "FilesystemCore",
                "QumuloAPI",
                "QumuloClient",
                "SandboxTestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "SystemPackage", package: "swift-system"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "QumuloSandboxTests",
            dependencies: [
                "QumuloAPI",
                "QumuloSandbox",
                "SandboxTestSupport",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "FUSEBridgeTests",
            dependencies: [
                "FUSEBridge",
                "FilesystemCore",
                "QumuloAPI",
                "QumuloClient",
                "SandboxTestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "SystemPackage", package: "swift-system"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
    ],
    swiftLanguageModes: [.v6]
)
