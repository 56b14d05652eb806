// swift-tools-version:6.1
// strata: builds fleets of container images. Layers, bottom to top:
//   C system libraries (CArchive, CCurl + CCurlShim, COpenSSL)
//   → thin Swift owners of their handles (StrataHash, StrataArchive, StrataHTTP)
//   → domain modules (StrataFleet, StrataCache, StrataEngine, …)
//   → the `strata` executable, which parses arguments and wires values together.
// A lower module never imports a higher one.
import PackageDescription

let package = Package(
    name: "strata",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "strata", targets: ["strata"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
    ],
    targets: [
        // C libraries, through system-library targets (Debian's -dev packages).
        .systemLibrary(name: "CArchive", pkgConfig: "libarchive", providers: [.apt(["libarchive-dev"])]),
        .systemLibrary(name: "CCurl", pkgConfig: "libcurl", providers: [.apt(["libcurl4-openssl-dev"])]),
        .systemLibrary(name: "COpenSSL", pkgConfig: "libcrypto", providers: [.apt(["libssl-dev"])]),
        // Typed wrappers for curl's variadic curl_easy_setopt / curl_easy_getinfo.
        .target(name: "CCurlShim", dependencies: ["CCurl"]),

        .target(name: "StrataFleet", dependencies: [.product(name: "Yams", package: "Yams")]),
        .target(name: "StrataHash", dependencies: ["COpenSSL", "StrataFleet"]),
        .target(name: "StrataArchive", dependencies: ["CArchive"]),
        .target(name: "StrataHTTP", dependencies: ["CCurl", "CCurlShim"]),
        .target(name: "StrataCache", dependencies: ["StrataHash"]),
        .target(name: "StrataPlan", dependencies: ["StrataFleet", "StrataHash", "StrataCache"]),
        .target(name: "StrataEngine", dependencies: ["StrataHTTP", "StrataHash"]),
        .target(name: "StrataProcess"),
        .target(name: "StrataRegistry", dependencies: ["StrataHTTP", "StrataHash", "StrataProcess"]),
        .target(name: "StrataImages", dependencies: ["StrataArchive", "StrataFleet", "StrataHash", "StrataCache", "StrataEngine",
                                                    "StrataRegistry"]),
        .target(name: "StrataBuild", dependencies: ["StrataFleet", "StrataHash", "StrataArchive", "StrataHTTP", "StrataEngine",
                                                    "StrataCache", "StrataPlan", "StrataImages", "StrataRegistry"]),

        .executableTarget(
            name: "strata",
            dependencies: [
                "StrataFleet",
                "StrataHash",
                "StrataArchive",
                "StrataHTTP",
                "StrataCache",
                "StrataPlan",
                "StrataEngine",
                "StrataBuild",
                "StrataImages",
                "StrataRegistry",
                "StrataProcess",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),

        .testTarget(name: "StrataFleetTests", dependencies: ["StrataFleet"], resources: [.copy("Fixtures")]),
        .testTarget(name: "StrataProcessTests", dependencies: ["StrataProcess"]),
        .testTarget(name: "StrataHashTests", dependencies: ["StrataHash"]),
        .testTarget(name: "StrataArchiveTests", dependencies: ["StrataArchive", "StrataProcess"]),
        .testTarget(name: "StrataHTTPTests", dependencies: ["StrataHTTP", "StrataProcess"], exclude: ["Fixtures"]),
        .testTarget(name: "StrataCacheTests", dependencies: ["StrataCache"]),
        .testTarget(name: "StrataPlanTests", dependencies: ["StrataPlan"]),
        .testTarget(name: "StrataRegistryTests", dependencies: ["StrataRegistry", "StrataProcess"], exclude: ["Fixtures"]),
        .testTarget(name: "StrataBuildTests", dependencies: ["StrataBuild", "StrataArchive"]),
        .testTarget(name: "StrataEngineTests", dependencies: ["StrataEngine", "StrataArchive"], exclude: ["Fixtures"]),
        .testTarget(name: "StrataImagesTests", dependencies: ["StrataImages", "StrataRegistry", "StrataHTTP", "StrataProcess"]),
        .testTarget(name: "strataTests", dependencies: ["strata", "StrataProcess", .product(name: "Yams", package: "Yams")]),
        // Runs the strata binary against the real engine and registry that scripts/test starts.
        .testTarget(name: "StrataIntegrationTests", dependencies: ["strata", "StrataProcess"]),
        // The oracle: images strata builds against `docker build --no-cache` of a corpus.
        .testTarget(name: "StrataDifferentialTests", dependencies: ["strata", "StrataProcess"]),
    ],
    swiftLanguageModes: [.v6]
)
