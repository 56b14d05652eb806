# Shared set-up for scripts/test, scripts/demo and scripts/bench (sourced, not run).

# Debian packages strata needs to build, test and demo.
STRATA_APT_PACKAGES=(docker.io docker-registry libarchive-dev libcurl4-openssl-dev libssl-dev
    busybox-static skopeo hyperfine jq pkg-config bsdextrautils libarchive-tools python3 python3-cryptography time)

ensure_packages() {
    local missing=()
    local p
    for p in "${STRATA_APT_PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        echo "strata: installing ${missing[*]}" >&2
        if [ "$(id -u)" != 0 ]; then
            echo "strata: missing packages (${missing[*]}); run as root or install them" >&2
            return 1
        fi
        DEBIAN_FRONTEND=noninteractive apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
    fi
}
