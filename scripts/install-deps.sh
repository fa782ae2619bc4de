#!/bin/bash
# scripts/install-deps.sh — make install-deps:安裝建置與測試需要的套件。
#   --check   只檢查,缺東西時結束碼為 1(不安裝)
set -euo pipefail

DEB_PKGS=(
	build-essential pkg-config make gcc
	liburing-dev libxdp-dev libbpf-dev libibverbs-dev librdmacm-dev libdpdk-dev
	dpdk dpdk-dev ibverbs-providers ibverbs-utils rdmacm-utils perftest
	qemu-system-x86 busybox-static cpio iproute2 ethtool iputils-ping netcat-openbsd
	shellcheck redis-tools gnuplot-nox procps kmod binutils
	clang llvm fonts-noto-cjk fontconfig fio nftables iptables
)
RPM_PKGS=(
	gcc make pkgconf-pkg-config
	liburing-devel libxdp-devel libbpf-devel rdma-core-devel dpdk-devel dpdk-tools
	libibverbs-utils librdmacm-utils perftest
	qemu-system-x86 busybox cpio iproute ethtool iputils nmap-ncat
	ShellCheck redis gnuplot procps-ng kmod binutils
	clang llvm google-noto-sans-cjk-ttc-fonts fontconfig fio nftables iptables-legacy
)
# 用來判斷「是否已齊全」的指令與 pkg-config 套件
NEED_CMDS=(cc make pkg-config clang dpdk-testpmd ib_write_lat rping qemu-system-x86_64 busybox cpio ip ethtool ping nc shellcheck gnuplot redis-benchmark objcopy fio nft)
NEED_PC=(liburing libxdp libbpf libibverbs librdmacm libdpdk)

missing() {
	local c
	for c in "${NEED_CMDS[@]}"; do command -v "$c" >/dev/null 2>&1 || echo "$c"; done
	for c in "${NEED_PC[@]}"; do pkg-config --exists "$c" 2>/dev/null || echo "$c"; done
	# 比較圖的中文字型(沒有時圖會被略過並說明原因)
	fc-list : family 2>/dev/null | grep -c 'Noto Sans CJK' >/dev/null || echo "fonts-noto-cjk"
}

if [ "${1:-}" = --check ]; then
	m=$(missing)
	[ -z "$m" ] && exit 0
	echo "缺少:$(echo "$m" | tr '\n' ' ')"
	exit 1
fi

if [ "$(id -u)" -ne 0 ]; then
	echo "錯誤:安裝套件需要 root 權限,請執行:sudo make install-deps" >&2
	exit 1
fi

if command -v apt-get >/dev/null 2>&1; then
	export DEBIAN_FRONTEND=noninteractive
	echo "== 以 apt-get 安裝 ${#DEB_PKGS[@]} 個套件(Debian/Ubuntu)"
	apt-get update -q
	apt-get install -y -q --no-install-recommends "${DEB_PKGS[@]}"
elif command -v dnf >/dev/null 2>&1; then
	echo "== 以 dnf 安裝 ${#RPM_PKGS[@]} 個套件(Fedora)"
	dnf install -y --skip-broken "${RPM_PKGS[@]}"
else
	echo "錯誤:找不到 apt-get 或 dnf;請手動安裝 liburing、libxdp、libbpf、rdma-core、DPDK 的開發套件," \
		"以及 dpdk-testpmd、perftest、qemu、busybox、iproute2、ethtool" >&2
	exit 1
fi

m=$(missing)
if [ -n "$m" ]; then
	echo "注意:安裝後仍缺少:$(echo "$m" | tr '\n' ' ')" >&2
else
	echo "== 所有套件都已安裝"
fi
